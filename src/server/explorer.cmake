# The explorer page (explorer.html, explorer.js) compiled into the server as
# string constants in a generated header, server/explorer_assets.h, so an
# installed `glassbox serve` needs no file beyond share/glassbox/web (the vega
# builds reports inline too). Regenerated when either file changes.
# Included after the server's target is defined; TARGET names it.
function(glassbox_explorer_assets target)
  set(dir ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  set(out ${PROJECT_BINARY_DIR}/generated/server/explorer_assets.h)
  add_custom_command(OUTPUT ${out}
                     COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DHTML=${dir}/explorer.html -DJS=${dir}/explorer.js
                             -P ${dir}/explorer_embed.cmake
                     DEPENDS ${dir}/explorer.html ${dir}/explorer.js ${dir}/explorer_embed.cmake
                     COMMENT "Embedding the explorer page")
  target_sources(${target} PRIVATE ${out})
  # Its charts are the report library's (pages/charts.h); the page is styled
  # and its vega inlined by the report layer.
  target_link_libraries(${target} PUBLIC glassbox_pages)
  target_include_directories(${target} PRIVATE ${PROJECT_BINARY_DIR}/generated)
endfunction()
