
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/tokenizer/bpe.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/bpe.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/bpe.cpp.o.d"
  "/work/main/src/tokenizer/byte_level.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/byte_level.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/byte_level.cpp.o.d"
  "/work/main/src/tokenizer/decode.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/decode.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/decode.cpp.o.d"
  "/work/main/src/tokenizer/encode.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/encode.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/encode.cpp.o.d"
  "/work/main/src/tokenizer/from_gguf.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_gguf.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_gguf.cpp.o.d"
  "/work/main/src/tokenizer/from_hf_json.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_hf_json.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_hf_json.cpp.o.d"
  "/work/main/src/tokenizer/from_vocab_merges.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_vocab_merges.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_vocab_merges.cpp.o.d"
  "/work/main/src/tokenizer/model.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/model.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/model.cpp.o.d"
  "/work/main/src/tokenizer/read_file.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/read_file.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/read_file.cpp.o.d"
  "/work/main/src/tokenizer/regex_split.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/regex_split.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/regex_split.cpp.o.d"
  "/work/main/src/tokenizer/special_tokens.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/special_tokens.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/special_tokens.cpp.o.d"
  "/work/main/src/tokenizer/tokenizer.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/tokenizer.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/tokenizer.cpp.o.d"
  "/work/main/src/tokenizer/train_bpe.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/train_bpe.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/train_bpe.cpp.o.d"
  "/work/main/src/tokenizer/train_bpe_json.cpp" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/train_bpe_json.cpp.o" "gcc" "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/train_bpe_json.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_io.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
