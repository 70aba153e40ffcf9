file(REMOVE_RECURSE
  "CMakeFiles/test_kernels.dir/kernels/test_act.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_act.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_attention.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_attention.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_embedding.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_embedding.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_gradcheck_attention.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_gradcheck_attention.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_gradcheck_dense.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_gradcheck_dense.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_gradcheck_helper.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_gradcheck_helper.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_loss.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_loss.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_matmul.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_matmul.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_misc.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_misc.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_norm.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_norm.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_rope.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_rope.cpp.o.d"
  "CMakeFiles/test_kernels.dir/kernels/test_softmax.cpp.o"
  "CMakeFiles/test_kernels.dir/kernels/test_softmax.cpp.o.d"
  "test_kernels"
  "test_kernels.pdb"
  "test_kernels[1]_tests.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_kernels.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
