
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/tokenizer/test_byte_level_bpe.cpp" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_byte_level_bpe.cpp.o" "gcc" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_byte_level_bpe.cpp.o.d"
  "/work/main/tests/tokenizer/test_errors.cpp" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_errors.cpp.o" "gcc" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_errors.cpp.o.d"
  "/work/main/tests/tokenizer/test_gguf_vocab.cpp" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_gguf_vocab.cpp.o" "gcc" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_gguf_vocab.cpp.o.d"
  "/work/main/tests/tokenizer/test_gpt3_encoder.cpp" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_gpt3_encoder.cpp.o" "gcc" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_gpt3_encoder.cpp.o.d"
  "/work/main/tests/tokenizer/test_pretokenizer.cpp" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_pretokenizer.cpp.o" "gcc" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_pretokenizer.cpp.o.d"
  "/work/main/tests/tokenizer/test_sentencepiece_bpe.cpp" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_sentencepiece_bpe.cpp.o" "gcc" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/test_sentencepiece_bpe.cpp.o.d"
  "/work/main/tests/tokenizer/train_bpe_test.cpp" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/train_bpe_test.cpp.o" "gcc" "tests/CMakeFiles/test_tokenizer.dir/tokenizer/train_bpe_test.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_tokenizer.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_io.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
