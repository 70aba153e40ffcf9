# The explorer page in headless chromium (explorer_page.mjs): `glassbox serve`
# on the toxic organism (it ships a steering direction for the slider),
# driven by puppeteer-core from scripts/fetch-node-tools.sh. Skipped (77)
# without node, chromium or the package; the screenshot lands in
# <build>/explorer-page/explorer.png. Included from tests/CMakeLists.txt.
if(TARGET glassbox_cli)
  find_program(NODE_EXECUTABLE node)
  if(NODE_EXECUTABLE)
    add_test(NAME server.explorer_page
             COMMAND ${NODE_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/explorer_page.mjs $<TARGET_FILE:glassbox_cli>
                     ${PROJECT_SOURCE_DIR}/models/toxic ${PROJECT_BINARY_DIR}/explorer-page
                     ${PROJECT_SOURCE_DIR}/third_party/node/node_modules)
  else()
    add_test(NAME server.explorer_page COMMAND ${CMAKE_COMMAND} -E echo "skipped: node not found")
  endif()
  set_tests_properties(server.explorer_page PROPERTIES LABELS server TIMEOUT 180 SKIP_RETURN_CODE 77
                       SKIP_REGULAR_EXPRESSION "^skipped: ")
endif()
