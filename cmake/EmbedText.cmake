# Writes a C++ source that defines a text file's bytes as a std::string_view,
# so a document kept as a file in the source tree (the OpenAPI document) is
# compiled into the library without reading anything at run time.
#
#   cmake -DINPUT=FILE -DOUTPUT=FILE.cpp -DNAMESPACE=ns -DSYMBOL=kName -P EmbedText.cmake
#
# The text goes into a raw string literal; a file that contains the literal's
# closing delimiter is refused rather than cut short.
foreach(var INPUT OUTPUT NAMESPACE SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "EmbedText.cmake needs -D${var}=...")
  endif()
endforeach()
file(READ "${INPUT}" text)
string(FIND "${text}" ")embedded\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains )embedded\" and cannot be embedded as a raw string literal")
endif()
set(source "// Generated at build time from ${INPUT} by cmake/EmbedText.cmake; edit that file instead.
#include <string_view>

namespace ${NAMESPACE} {

extern const std::string_view ${SYMBOL};
const std::string_view ${SYMBOL} = R\"embedded(${text})embedded\";

}  // namespace ${NAMESPACE}
")
# Rewrite only when the text changed, so an unchanged document is not recompiled.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" previous)
  if(previous STREQUAL source)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${source}")
