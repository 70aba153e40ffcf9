file(REMOVE_RECURSE
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_byte_level_bpe.cpp.o"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_byte_level_bpe.cpp.o.d"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_errors.cpp.o"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_errors.cpp.o.d"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_gguf_vocab.cpp.o"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_gguf_vocab.cpp.o.d"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_gpt3_encoder.cpp.o"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_gpt3_encoder.cpp.o.d"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_pretokenizer.cpp.o"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_pretokenizer.cpp.o.d"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_sentencepiece_bpe.cpp.o"
  "CMakeFiles/test_tokenizer.dir/tokenizer/test_sentencepiece_bpe.cpp.o.d"
  "CMakeFiles/test_tokenizer.dir/tokenizer/train_bpe_test.cpp.o"
  "CMakeFiles/test_tokenizer.dir/tokenizer/train_bpe_test.cpp.o.d"
  "test_tokenizer"
  "test_tokenizer.pdb"
  "test_tokenizer[1]_tests.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_tokenizer.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
