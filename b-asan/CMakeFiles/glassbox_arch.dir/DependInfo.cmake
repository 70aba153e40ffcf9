
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/arch/checkpoint.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/checkpoint.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/checkpoint.cpp.o.d"
  "/work/main/src/arch/family.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/family.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/family.cpp.o.d"
  "/work/main/src/arch/gguf_gpt2.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/gguf_gpt2.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/gguf_gpt2.cpp.o.d"
  "/work/main/src/arch/gguf_llama.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/gguf_llama.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/gguf_llama.cpp.o.d"
  "/work/main/src/arch/gpt2.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/gpt2.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/gpt2.cpp.o.d"
  "/work/main/src/arch/hooked.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/hooked.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/hooked.cpp.o.d"
  "/work/main/src/arch/llama.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/llama.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/llama.cpp.o.d"
  "/work/main/src/arch/load.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/load.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/load.cpp.o.d"
  "/work/main/src/arch/neox.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/neox.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/neox.cpp.o.d"
  "/work/main/src/arch/trainable.cpp" "CMakeFiles/glassbox_arch.dir/src/arch/trainable.cpp.o" "gcc" "CMakeFiles/glassbox_arch.dir/src/arch/trainable.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_io.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_tokenizer.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
