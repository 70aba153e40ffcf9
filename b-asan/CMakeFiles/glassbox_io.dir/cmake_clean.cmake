file(REMOVE_RECURSE
  "CMakeFiles/glassbox_io.dir/src/io/ggml_type.cpp.o"
  "CMakeFiles/glassbox_io.dir/src/io/ggml_type.cpp.o.d"
  "CMakeFiles/glassbox_io.dir/src/io/gguf.cpp.o"
  "CMakeFiles/glassbox_io.dir/src/io/gguf.cpp.o.d"
  "CMakeFiles/glassbox_io.dir/src/io/gguf_value.cpp.o"
  "CMakeFiles/glassbox_io.dir/src/io/gguf_value.cpp.o.d"
  "CMakeFiles/glassbox_io.dir/src/io/gguf_writer.cpp.o"
  "CMakeFiles/glassbox_io.dir/src/io/gguf_writer.cpp.o.d"
  "CMakeFiles/glassbox_io.dir/src/io/quantize.cpp.o"
  "CMakeFiles/glassbox_io.dir/src/io/quantize.cpp.o.d"
  "CMakeFiles/glassbox_io.dir/src/io/raw_tensor.cpp.o"
  "CMakeFiles/glassbox_io.dir/src/io/raw_tensor.cpp.o.d"
  "CMakeFiles/glassbox_io.dir/src/io/safetensors.cpp.o"
  "CMakeFiles/glassbox_io.dir/src/io/safetensors.cpp.o.d"
  "CMakeFiles/glassbox_io.dir/src/io/safetensors_writer.cpp.o"
  "CMakeFiles/glassbox_io.dir/src/io/safetensors_writer.cpp.o.d"
  "libglassbox_io.a"
  "libglassbox_io.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/glassbox_io.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
