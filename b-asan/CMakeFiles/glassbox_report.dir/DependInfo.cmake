
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/report/assets.cpp" "CMakeFiles/glassbox_report.dir/src/report/assets.cpp.o" "gcc" "CMakeFiles/glassbox_report.dir/src/report/assets.cpp.o.d"
  "/work/main/src/report/charts.cpp" "CMakeFiles/glassbox_report.dir/src/report/charts.cpp.o" "gcc" "CMakeFiles/glassbox_report.dir/src/report/charts.cpp.o.d"
  "/work/main/src/report/escape.cpp" "CMakeFiles/glassbox_report.dir/src/report/escape.cpp.o" "gcc" "CMakeFiles/glassbox_report.dir/src/report/escape.cpp.o.d"
  "/work/main/src/report/page.cpp" "CMakeFiles/glassbox_report.dir/src/report/page.cpp.o" "gcc" "CMakeFiles/glassbox_report.dir/src/report/page.cpp.o.d"
  "/work/main/src/report/site.cpp" "CMakeFiles/glassbox_report.dir/src/report/site.cpp.o" "gcc" "CMakeFiles/glassbox_report.dir/src/report/site.cpp.o.d"
  "/work/main/src/report/theme.cpp" "CMakeFiles/glassbox_report.dir/src/report/theme.cpp.o" "gcc" "CMakeFiles/glassbox_report.dir/src/report/theme.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
