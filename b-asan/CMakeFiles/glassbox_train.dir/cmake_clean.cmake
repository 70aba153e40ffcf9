file(REMOVE_RECURSE
  "CMakeFiles/glassbox_train.dir/src/train/optimizer.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/optimizer.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/text_data.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/text_data.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/train.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/train.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/zoo.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/zoo.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_corpus.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_corpus.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_data.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_data.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_facts.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_facts.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_induction.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_induction.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_ioi.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_ioi.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_modadd.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_modadd.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_registry.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_registry.cpp.o.d"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_sha256.cpp.o"
  "CMakeFiles/glassbox_train.dir/src/train/zoo_sha256.cpp.o.d"
  "libglassbox_train.a"
  "libglassbox_train.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/glassbox_train.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
