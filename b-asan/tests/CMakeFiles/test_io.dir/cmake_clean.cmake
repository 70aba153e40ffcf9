file(REMOVE_RECURSE
  "CMakeFiles/test_io.dir/io/dtype_test.cpp.o"
  "CMakeFiles/test_io.dir/io/dtype_test.cpp.o.d"
  "CMakeFiles/test_io.dir/io/gguf_bad_input_test.cpp.o"
  "CMakeFiles/test_io.dir/io/gguf_bad_input_test.cpp.o.d"
  "CMakeFiles/test_io.dir/io/gguf_test.cpp.o"
  "CMakeFiles/test_io.dir/io/gguf_test.cpp.o.d"
  "CMakeFiles/test_io.dir/io/mmap_file_test.cpp.o"
  "CMakeFiles/test_io.dir/io/mmap_file_test.cpp.o.d"
  "CMakeFiles/test_io.dir/io/quantize_test.cpp.o"
  "CMakeFiles/test_io.dir/io/quantize_test.cpp.o.d"
  "CMakeFiles/test_io.dir/io/safetensors_test.cpp.o"
  "CMakeFiles/test_io.dir/io/safetensors_test.cpp.o.d"
  "test_io"
  "test_io.pdb"
  "test_io[1]_tests.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_io.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
