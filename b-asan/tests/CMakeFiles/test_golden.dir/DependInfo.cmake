
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/golden/golden_test.cpp" "tests/CMakeFiles/test_golden.dir/golden/golden_test.cpp.o" "gcc" "tests/CMakeFiles/test_golden.dir/golden/golden_test.cpp.o.d"
  "/work/main/tests/golden/gradients_test.cpp" "tests/CMakeFiles/test_golden.dir/golden/gradients_test.cpp.o" "gcc" "tests/CMakeFiles/test_golden.dir/golden/gradients_test.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_analysis.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_report.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_train.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_engine.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_arch.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_kernels.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_tokenizer.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_io.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
