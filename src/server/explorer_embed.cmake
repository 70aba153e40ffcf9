# cmake -DOUT=header -DHTML=explorer.html -DJS=explorer.js -P explorer_embed.cmake
# Writes the two files as C++ raw string literals (explorer.cmake runs it).
set(delim "GBX_EXPLORER")
file(READ ${HTML} html)
file(READ ${JS} js)
foreach(text html js)
  string(FIND "${${text}}" ")${delim}\"" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "explorer_embed: ${text} contains the raw-string delimiter )${delim}\"")
  endif()
endforeach()
file(WRITE ${OUT}.tmp
     "// Generated from src/server/explorer.html and explorer.js by explorer_embed.cmake; do not edit.\n"
     "#pragma once\n"
     "namespace glassbox::server {\n"
     "inline constexpr char kExplorerHtml[] = R\"${delim}(${html})${delim}\";\n"
     "inline constexpr char kExplorerJs[] = R\"${delim}(${js})${delim}\";\n"
     "}  // namespace glassbox::server\n")
# Only a changed header is replaced, so an unchanged page recompiles nothing.
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
