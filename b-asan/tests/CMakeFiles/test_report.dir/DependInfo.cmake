
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/report/browser_test.cpp" "tests/CMakeFiles/test_report.dir/report/browser_test.cpp.o" "gcc" "tests/CMakeFiles/test_report.dir/report/browser_test.cpp.o.d"
  "/work/main/tests/report/charts_test.cpp" "tests/CMakeFiles/test_report.dir/report/charts_test.cpp.o" "gcc" "tests/CMakeFiles/test_report.dir/report/charts_test.cpp.o.d"
  "/work/main/tests/report/page_test.cpp" "tests/CMakeFiles/test_report.dir/report/page_test.cpp.o" "gcc" "tests/CMakeFiles/test_report.dir/report/page_test.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_report.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
