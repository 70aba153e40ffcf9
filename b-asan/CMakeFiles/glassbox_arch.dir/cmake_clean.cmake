file(REMOVE_RECURSE
  "CMakeFiles/glassbox_arch.dir/src/arch/checkpoint.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/checkpoint.cpp.o.d"
  "CMakeFiles/glassbox_arch.dir/src/arch/family.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/family.cpp.o.d"
  "CMakeFiles/glassbox_arch.dir/src/arch/gguf_gpt2.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/gguf_gpt2.cpp.o.d"
  "CMakeFiles/glassbox_arch.dir/src/arch/gguf_llama.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/gguf_llama.cpp.o.d"
  "CMakeFiles/glassbox_arch.dir/src/arch/gpt2.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/gpt2.cpp.o.d"
  "CMakeFiles/glassbox_arch.dir/src/arch/hooked.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/hooked.cpp.o.d"
  "CMakeFiles/glassbox_arch.dir/src/arch/llama.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/llama.cpp.o.d"
  "CMakeFiles/glassbox_arch.dir/src/arch/load.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/load.cpp.o.d"
  "CMakeFiles/glassbox_arch.dir/src/arch/neox.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/neox.cpp.o.d"
  "CMakeFiles/glassbox_arch.dir/src/arch/trainable.cpp.o"
  "CMakeFiles/glassbox_arch.dir/src/arch/trainable.cpp.o.d"
  "libglassbox_arch.a"
  "libglassbox_arch.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/glassbox_arch.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
