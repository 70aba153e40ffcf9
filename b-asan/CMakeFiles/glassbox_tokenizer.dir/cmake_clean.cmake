file(REMOVE_RECURSE
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/bpe.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/bpe.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/byte_level.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/byte_level.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/decode.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/decode.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/encode.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/encode.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_gguf.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_gguf.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_hf_json.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_hf_json.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_vocab_merges.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/from_vocab_merges.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/model.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/model.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/read_file.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/read_file.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/regex_split.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/regex_split.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/special_tokens.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/special_tokens.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/tokenizer.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/tokenizer.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/train_bpe.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/train_bpe.cpp.o.d"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/train_bpe_json.cpp.o"
  "CMakeFiles/glassbox_tokenizer.dir/src/tokenizer/train_bpe_json.cpp.o.d"
  "libglassbox_tokenizer.a"
  "libglassbox_tokenizer.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/glassbox_tokenizer.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
