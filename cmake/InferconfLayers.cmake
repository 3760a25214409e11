# inferconf_layer(NAME SOURCES... DEPENDS layers... LIBS external-targets...)
#
# Declares one layer of the library as an OBJECT library. Layers link their
# dependency layers for usage requirements only; the objects of every layer end
# up in the single static library `inferconf`. Tests link the layers they need
# directly (see inferconf_test), so a layer can be built and tested on its own.
function(inferconf_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPENDS;LIBS" ${ARGN})
  add_library(${name} OBJECT ${L_SOURCES})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:include>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${L_DEPENDS} ${L_LIBS})
  set_property(GLOBAL APPEND PROPERTY INFERCONF_LAYERS ${name})
  set_property(GLOBAL APPEND PROPERTY INFERCONF_EXTERNAL_LIBS ${L_LIBS})
  set_property(TARGET ${name} PROPERTY INFERCONF_LAYER_DEPS ${L_DEPENDS})
  set_property(TARGET ${name} PROPERTY INFERCONF_LAYER_LIBS ${L_LIBS})
endfunction()

# Collects a layer and, transitively, every layer it depends on (objects are
# not propagated between OBJECT libraries, so executables must list them all).
# inferconf_source_dir_users(FILES...): the layer sources that read INFERCONF_SOURCE_DIR (the checkout's
# catalogue and examples, found from a build tree). Only these get the definition, so every other object's
# compile command is the same in any checkout and ccache can share it between clones and worktrees.
function(inferconf_source_dir_users)
  set_property(SOURCE ${ARGN} APPEND PROPERTY COMPILE_DEFINITIONS INFERCONF_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endfunction()

function(_inferconf_collect out)
  set(result)
  set(queue ${ARGN})
  while(queue)
    list(POP_FRONT queue l)
    if(l IN_LIST result)
      continue()
    endif()
    list(APPEND result ${l})
    get_property(deps TARGET ${l} PROPERTY INFERCONF_LAYER_DEPS)
    list(APPEND queue ${deps})
  endwhile()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# inferconf_link_layers(target layers...): links the objects of these layers and their dependencies.
function(inferconf_link_layers target)
  _inferconf_collect(all ${ARGN})
  foreach(l IN LISTS all)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${l}>)
    target_link_libraries(${target} PRIVATE ${l})
  endforeach()
endfunction()

# inferconf_test(NAME SOURCES... LAYERS...): a GoogleTest executable registered with CTest.
function(inferconf_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LAYERS;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  inferconf_link_layers(${name} ${T_LAYERS})
  target_link_libraries(${name} PRIVATE GTest::gtest GTest::gtest_main GTest::gmock ${T_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    INFERCONF_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    INFERCONF_BINARY_DIR="${PROJECT_BINARY_DIR}")
  # Each test is labelled with its folder (model, store, cli, ...): `ctest -L store`.
  get_filename_component(_layer_label ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES
    ENVIRONMENT "INFERCONF_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    LABELS ${_layer_label})
endfunction()
