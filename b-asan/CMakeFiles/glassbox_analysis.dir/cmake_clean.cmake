file(REMOVE_RECURSE
  "CMakeFiles/glassbox_analysis.dir/src/analysis/detail.cpp.o"
  "CMakeFiles/glassbox_analysis.dir/src/analysis/detail.cpp.o.d"
  "libglassbox_analysis.a"
  "libglassbox_analysis.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/glassbox_analysis.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
