# ctest install.find_package: installs the build into a scratch prefix outside
# the build tree (so nothing can be found by walking up into it), builds the
# consumer project against it and runs it from <prefix>/bin.
# -DBUILD_DIR=<glassbox build> -DCONSUMER_DIR=<tests/install> -DCXX=<compiler> -DWITH_CLI=0|1
# [-DLINK_FLAGS=<the sanitizer runtime, for a sanitizer build>]
string(RANDOM LENGTH 8 tag)
set(tmp "$ENV{TMPDIR}")
if(NOT tmp)
  set(tmp /tmp)
endif()
set(work "${tmp}/glassbox-install-test-${tag}")
set(prefix "${work}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    file(REMOVE_RECURSE "${work}")
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()

run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
set(expected lib/cmake/glassbox/glassboxConfig.cmake lib/cmake/glassbox/glassboxConfigVersion.cmake
             include/glassbox/resources.h share/glassbox/models/manifest.json)
if(WITH_CLI)
  list(APPEND expected bin/glassbox)
endif()
foreach(f ${expected})
  if(NOT EXISTS "${prefix}/${f}")
    file(REMOVE_RECURSE "${work}")
    message(FATAL_ERROR "install did not write ${f}")
  endif()
endforeach()
run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${work}/build" -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_RUNTIME_OUTPUT_DIRECTORY=${prefix}/bin" "-DCMAKE_EXE_LINKER_FLAGS=${LINK_FLAGS}")
run(${CMAKE_COMMAND} --build "${work}/build")
run(${CMAKE_COMMAND} -E env --unset=GLASSBOX_MODELS "${prefix}/bin/consumer" "${prefix}")
file(REMOVE_RECURSE "${work}")
