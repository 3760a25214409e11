# inferconf_add_layer_check(): the CTest test `layer_includes` (label `architecture`), which runs
# cmake/CheckLayerIncludes.cmake over src/. What each layer may include is read here, at configure
# time, from the layers' own CMake targets (DEPENDS and LIBS of inferconf_layer), so the check
# follows the build rather than a second copy of the layering.

# Which layer owns each public header: include/inferconf/NAME.hpp and include/inferconf/NAME/….
set(INFERCONF_PUBLIC_HEADERS
  error=common
  configuration=model dto=model json_text=model registry=model history=model
  catalog=catalog hardware=catalog store=store detect=detect
  service=service resolve_request=service base_model_decision=service hardware_plan=service
  catalog_bundle=catalog_bundle
  populate=populate interop=interop
  http=http)

function(inferconf_add_layer_check)
  get_property(layers GLOBAL PROPERTY INFERCONF_LAYERS)
  set(folders)
  set(body)
  # A layer is a folder under src/; a folder may hold more than one target (src/store/mongo).
  foreach(l IN LISTS layers)
    get_target_property(dir ${l} SOURCE_DIR)
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/src ${dir})
    string(REGEX REPLACE "/.*" "" folder "${rel}")
    list(APPEND folders ${folder})
    _inferconf_collect(deps ${l})
    foreach(d IN LISTS deps)
      get_target_property(ddir ${d} SOURCE_DIR)
      file(RELATIVE_PATH drel ${PROJECT_SOURCE_DIR}/src ${ddir})
      string(REGEX REPLACE "/.*" "" dfolder "${drel}")
      if(NOT dfolder STREQUAL folder)
        list(APPEND uses_${folder} ${dfolder})
      endif()
    endforeach()
    get_target_property(libs ${l} INFERCONF_LAYER_LIBS)
    if(libs)
      list(APPEND libs_${folder} ${libs})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES folders)
  string(APPEND body "set(INFERCONF_CHECK_LAYERS ${folders})\n")
  foreach(f IN LISTS folders)
    if(uses_${f})
      list(REMOVE_DUPLICATES uses_${f})
    endif()
    string(APPEND body "set(INFERCONF_CHECK_USES_${f} ${uses_${f}})\n")
    string(APPEND body "set(INFERCONF_CHECK_LIBS_${f} ${libs_${f}})\n")
  endforeach()
  foreach(entry IN LISTS INFERCONF_PUBLIC_HEADERS)
    string(REPLACE "=" ";" pair "${entry}")
    list(GET pair 0 concept)
    list(GET pair 1 owner)
    string(APPEND body "set(INFERCONF_CHECK_PUBLIC_${concept} ${owner})\n")
  endforeach()
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/inferconf_layers.cmake CONTENT "${body}")
  add_test(NAME layer_includes
           COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DLAYERS=${PROJECT_BINARY_DIR}/inferconf_layers.cmake
                   -P ${PROJECT_SOURCE_DIR}/cmake/CheckLayerIncludes.cmake)
  set_tests_properties(layer_includes PROPERTIES LABELS architecture)
endfunction()
