# cmake -DSOURCE_DIR=<checkout> -DLAYERS=<build>/inferconf_layers.cmake -P cmake/CheckLayerIncludes.cmake
#
# Fails (exit code 1, one line per offending #include) when a source file of a layer
#   - includes a private header of another layer ("store/mongo/mongo_store.hpp" from src/cli/),
#     the headers of src/common/ excepted: they are the library's shared helpers;
#   - includes the public header of a layer it does not depend on ("inferconf/populate.hpp"
#     from src/service/), i.e. a layer above it or beside it;
#   - includes the header of an external library its layer does not link itself
#     (<sqlite3.h> from src/cli/: SQLite belongs to the store layer).
# LAYERS is written at configure time from the real CMake targets (cmake/InferconfLayerCheck.cmake):
# the layer folders, what each depends on (transitively), the libraries each links, and which
# layer owns each public header. src/main.cpp is the executable, above every layer, and is not checked.

cmake_minimum_required(VERSION 3.25)

if(NOT SOURCE_DIR OR NOT LAYERS)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=DIR -DLAYERS=FILE -P CheckLayerIncludes.cmake")
endif()
include(${LAYERS})

# External headers (first path component, or the file name) -> the CMake target that provides them.
set(_external_headers
  "sqlite3.h=SQLite::SQLite3" "SQLiteCpp=SQLiteCpp" "mongoc=mongo::mongoc_shared" "bson=mongo::mongoc_shared"
  "boost=Boost::headers" "CLI=CLI11::CLI11" "spdlog=spdlog::spdlog" "openssl=OpenSSL::Crypto" "zlib.h=ZLIB::ZLIB")

set(_problems "")
set(_count 0)
set(_checked 0)
# Adds one line to the report (a macro: it sets the caller's variables).
macro(_problem)
  string(CONCAT _line ${ARGN})
  string(APPEND _problems "${_line}")
  math(EXPR _count "${_count} + 1")
endmacro()
file(GLOB_RECURSE _files RELATIVE ${SOURCE_DIR}/src
  ${SOURCE_DIR}/src/*.cpp ${SOURCE_DIR}/src/*.hpp ${SOURCE_DIR}/src/*.h ${SOURCE_DIR}/src/*.cc)
list(SORT _files)
foreach(file IN LISTS _files)
  if(NOT file MATCHES "/")
    continue()  # src/main.cpp: the executable
  endif()
  string(REGEX REPLACE "/.*" "" layer "${file}")
  if(NOT layer IN_LIST INFERCONF_CHECK_LAYERS)
    continue()  # a folder that is not built as a layer in this configuration (INFERCONF_ONLY)
  endif()
  math(EXPR _checked "${_checked} + 1")
  set(uses ${INFERCONF_CHECK_USES_${layer}})
  set(libs ${INFERCONF_CHECK_LIBS_${layer}})
  string(REPLACE ";" ", " uses_text "${uses}")
  file(STRINGS ${SOURCE_DIR}/src/${file} _lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line IN LISTS _lines)
    string(REGEX MATCH "[<\"]([^>\"]+)([>\"])" _m "${line}")
    set(header "${CMAKE_MATCH_1}")
    set(closing "${CMAKE_MATCH_2}")
    string(REGEX REPLACE "/.*" "" first "${header}")
    if(closing STREQUAL "\"")
      if(first STREQUAL "inferconf")
        string(REGEX REPLACE "^inferconf/" "" rest "${header}")
        string(REGEX REPLACE "(/.*|\\.hpp$)" "" concept "${rest}")
        set(owner "${INFERCONF_CHECK_PUBLIC_${concept}}")
        if(owner STREQUAL "")
          _problem(
            "src/${file}: includes \"${header}\", a public header no layer owns: name its layer in "
            "INFERCONF_PUBLIC_HEADERS (cmake/InferconfLayerCheck.cmake).\n")
        elseif(NOT owner STREQUAL layer AND NOT owner IN_LIST uses)
          _problem(
            "src/${file}: includes \"${header}\" of the ${owner} layer, which the ${layer} layer does not depend on "
            "(it may use: ${uses_text}).\n")
        endif()
      elseif(first IN_LIST INFERCONF_CHECK_LAYERS OR IS_DIRECTORY ${SOURCE_DIR}/src/${first})
        if(NOT first STREQUAL layer AND NOT first STREQUAL "common")
          _problem(
            "src/${file}: includes \"${header}\", a private header of the ${first} layer: use a public header "
            "(include/inferconf/), a helper in src/common/, or a function of the ${first} layer.\n")
        endif()
      endif()
    else()
      foreach(entry IN LISTS _external_headers)
        string(REPLACE "=" ";" pair "${entry}")
        list(GET pair 0 prefix)
        list(GET pair 1 target)
        if(first STREQUAL prefix AND NOT target IN_LIST libs)
          _problem(
            "src/${file}: includes <${header}> of ${target}, which the ${layer} layer does not link itself: the layer "
            "that links it should offer what is needed.\n")
        endif()
      endforeach()
    endif()
  endforeach()
endforeach()

if(_count GREATER 0)
  message("${_problems}")
  message(FATAL_ERROR "${_count} include(s) cross the layer boundaries (docs/ARCHITECTURE.md, \"Layers and the include check\").")
endif()
if(_checked EQUAL 0)
  message(FATAL_ERROR "No source file under ${SOURCE_DIR}/src was checked: wrong SOURCE_DIR?")
endif()
message(STATUS "${_checked} files of ${SOURCE_DIR}/src: every include stays within its layer's dependencies.")
