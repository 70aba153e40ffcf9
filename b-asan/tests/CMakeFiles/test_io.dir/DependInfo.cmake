
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/io/dtype_test.cpp" "tests/CMakeFiles/test_io.dir/io/dtype_test.cpp.o" "gcc" "tests/CMakeFiles/test_io.dir/io/dtype_test.cpp.o.d"
  "/work/main/tests/io/gguf_bad_input_test.cpp" "tests/CMakeFiles/test_io.dir/io/gguf_bad_input_test.cpp.o" "gcc" "tests/CMakeFiles/test_io.dir/io/gguf_bad_input_test.cpp.o.d"
  "/work/main/tests/io/gguf_test.cpp" "tests/CMakeFiles/test_io.dir/io/gguf_test.cpp.o" "gcc" "tests/CMakeFiles/test_io.dir/io/gguf_test.cpp.o.d"
  "/work/main/tests/io/mmap_file_test.cpp" "tests/CMakeFiles/test_io.dir/io/mmap_file_test.cpp.o" "gcc" "tests/CMakeFiles/test_io.dir/io/mmap_file_test.cpp.o.d"
  "/work/main/tests/io/quantize_test.cpp" "tests/CMakeFiles/test_io.dir/io/quantize_test.cpp.o" "gcc" "tests/CMakeFiles/test_io.dir/io/quantize_test.cpp.o.d"
  "/work/main/tests/io/safetensors_test.cpp" "tests/CMakeFiles/test_io.dir/io/safetensors_test.cpp.o" "gcc" "tests/CMakeFiles/test_io.dir/io/safetensors_test.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_io.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
