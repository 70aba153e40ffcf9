file(REMOVE_RECURSE
  "CMakeFiles/glassbox_report.dir/src/report/assets.cpp.o"
  "CMakeFiles/glassbox_report.dir/src/report/assets.cpp.o.d"
  "CMakeFiles/glassbox_report.dir/src/report/charts.cpp.o"
  "CMakeFiles/glassbox_report.dir/src/report/charts.cpp.o.d"
  "CMakeFiles/glassbox_report.dir/src/report/escape.cpp.o"
  "CMakeFiles/glassbox_report.dir/src/report/escape.cpp.o.d"
  "CMakeFiles/glassbox_report.dir/src/report/page.cpp.o"
  "CMakeFiles/glassbox_report.dir/src/report/page.cpp.o.d"
  "CMakeFiles/glassbox_report.dir/src/report/site.cpp.o"
  "CMakeFiles/glassbox_report.dir/src/report/site.cpp.o.d"
  "CMakeFiles/glassbox_report.dir/src/report/theme.cpp.o"
  "CMakeFiles/glassbox_report.dir/src/report/theme.cpp.o.d"
  "libglassbox_report.a"
  "libglassbox_report.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/glassbox_report.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
