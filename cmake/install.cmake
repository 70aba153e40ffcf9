# `cmake --install` and the find_package(glassbox) package, as fmt does it:
# the layer libraries plus the glassbox INTERFACE target exported under the
# glassbox:: namespace (glassbox::glassbox is what users link), the public
# headers, a package config with its version file, the CLI, and the shipped
# resources under share/glassbox, where include/glassbox/resources.h looks
# for them relative to the executable.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GLASSBOX_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/glassbox
    CACHE STRING "Where glassboxConfig.cmake is installed, relative to the prefix")

install(TARGETS glassbox glassbox_core glassbox_io glassbox_tokenizer glassbox_kernels glassbox_arch
                glassbox_engine glassbox_dist glassbox_analysis glassbox_train glassbox_zoo glassbox_features glassbox_steering glassbox_editing
                glassbox_report glassbox_pages
        EXPORT glassboxTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/glassbox DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT glassboxTargets NAMESPACE glassbox:: DESTINATION ${GLASSBOX_INSTALL_CMAKEDIR})
# The same targets for a consumer pointed at this build tree (glassbox_DIR=<build>).
export(EXPORT glassboxTargets NAMESPACE glassbox:: FILE ${PROJECT_BINARY_DIR}/glassboxTargets.cmake)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/glassboxConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/glassboxConfig.cmake
                              INSTALL_DESTINATION ${GLASSBOX_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/glassboxConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/glassboxConfig.cmake ${PROJECT_BINARY_DIR}/glassboxConfigVersion.cmake
        DESTINATION ${GLASSBOX_INSTALL_CMAKEDIR})

if(TARGET glassbox_cli)
  install(TARGETS glassbox_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# Resources: the trained organisms always; the report JavaScript, the zoo
# corpora and the probe label sets when they have been fetched
# (scripts/fetch-web-assets.sh, scripts/zoo-data.sh, scripts/label-data.sh). The trailing slashes copy the contents, following the
# links a checkout may have in their place.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/ DESTINATION ${CMAKE_INSTALL_DATADIR}/glassbox/models)
if(EXISTS ${PROJECT_SOURCE_DIR}/third_party/web/vega.min.js)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/third_party/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/glassbox/web)
endif()
foreach(res "zoo-src=data/zoo-src" "labels=data/labels")
  string(REPLACE "=" ";" res ${res})
  list(GET res 0 name)
  list(GET res 1 src)
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/${src})
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${src}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/glassbox/${name})
  endif()
endforeach()
