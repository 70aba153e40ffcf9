file(REMOVE_RECURSE
  "CMakeFiles/glassbox_kernels.dir/src/kernels/act.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/act.cpp.o.d"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/add.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/add.cpp.o.d"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/attention.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/attention.cpp.o.d"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/embedding.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/embedding.cpp.o.d"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/loss.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/loss.cpp.o.d"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/matmul.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/matmul.cpp.o.d"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/norm.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/norm.cpp.o.d"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/rope.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/rope.cpp.o.d"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/softmax.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/softmax.cpp.o.d"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/threads.cpp.o"
  "CMakeFiles/glassbox_kernels.dir/src/kernels/threads.cpp.o.d"
  "libglassbox_kernels.a"
  "libglassbox_kernels.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/glassbox_kernels.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
