
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/io/ggml_type.cpp" "CMakeFiles/glassbox_io.dir/src/io/ggml_type.cpp.o" "gcc" "CMakeFiles/glassbox_io.dir/src/io/ggml_type.cpp.o.d"
  "/work/main/src/io/gguf.cpp" "CMakeFiles/glassbox_io.dir/src/io/gguf.cpp.o" "gcc" "CMakeFiles/glassbox_io.dir/src/io/gguf.cpp.o.d"
  "/work/main/src/io/gguf_value.cpp" "CMakeFiles/glassbox_io.dir/src/io/gguf_value.cpp.o" "gcc" "CMakeFiles/glassbox_io.dir/src/io/gguf_value.cpp.o.d"
  "/work/main/src/io/gguf_writer.cpp" "CMakeFiles/glassbox_io.dir/src/io/gguf_writer.cpp.o" "gcc" "CMakeFiles/glassbox_io.dir/src/io/gguf_writer.cpp.o.d"
  "/work/main/src/io/quantize.cpp" "CMakeFiles/glassbox_io.dir/src/io/quantize.cpp.o" "gcc" "CMakeFiles/glassbox_io.dir/src/io/quantize.cpp.o.d"
  "/work/main/src/io/raw_tensor.cpp" "CMakeFiles/glassbox_io.dir/src/io/raw_tensor.cpp.o" "gcc" "CMakeFiles/glassbox_io.dir/src/io/raw_tensor.cpp.o.d"
  "/work/main/src/io/safetensors.cpp" "CMakeFiles/glassbox_io.dir/src/io/safetensors.cpp.o" "gcc" "CMakeFiles/glassbox_io.dir/src/io/safetensors.cpp.o.d"
  "/work/main/src/io/safetensors_writer.cpp" "CMakeFiles/glassbox_io.dir/src/io/safetensors_writer.cpp.o" "gcc" "CMakeFiles/glassbox_io.dir/src/io/safetensors_writer.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
