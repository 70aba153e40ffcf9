file(REMOVE_RECURSE
  "CMakeFiles/glassbox_core.dir/src/core/config.cpp.o"
  "CMakeFiles/glassbox_core.dir/src/core/config.cpp.o.d"
  "CMakeFiles/glassbox_core.dir/src/core/dtype.cpp.o"
  "CMakeFiles/glassbox_core.dir/src/core/dtype.cpp.o.d"
  "CMakeFiles/glassbox_core.dir/src/core/mmap_file.cpp.o"
  "CMakeFiles/glassbox_core.dir/src/core/mmap_file.cpp.o.d"
  "CMakeFiles/glassbox_core.dir/src/core/tensor.cpp.o"
  "CMakeFiles/glassbox_core.dir/src/core/tensor.cpp.o.d"
  "libglassbox_core.a"
  "libglassbox_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/glassbox_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
