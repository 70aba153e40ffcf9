
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/train/optimizer.cpp" "CMakeFiles/glassbox_train.dir/src/train/optimizer.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/optimizer.cpp.o.d"
  "/work/main/src/train/text_data.cpp" "CMakeFiles/glassbox_train.dir/src/train/text_data.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/text_data.cpp.o.d"
  "/work/main/src/train/train.cpp" "CMakeFiles/glassbox_train.dir/src/train/train.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/train.cpp.o.d"
  "/work/main/src/train/zoo.cpp" "CMakeFiles/glassbox_train.dir/src/train/zoo.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/zoo.cpp.o.d"
  "/work/main/src/train/zoo_corpus.cpp" "CMakeFiles/glassbox_train.dir/src/train/zoo_corpus.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/zoo_corpus.cpp.o.d"
  "/work/main/src/train/zoo_data.cpp" "CMakeFiles/glassbox_train.dir/src/train/zoo_data.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/zoo_data.cpp.o.d"
  "/work/main/src/train/zoo_facts.cpp" "CMakeFiles/glassbox_train.dir/src/train/zoo_facts.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/zoo_facts.cpp.o.d"
  "/work/main/src/train/zoo_induction.cpp" "CMakeFiles/glassbox_train.dir/src/train/zoo_induction.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/zoo_induction.cpp.o.d"
  "/work/main/src/train/zoo_ioi.cpp" "CMakeFiles/glassbox_train.dir/src/train/zoo_ioi.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/zoo_ioi.cpp.o.d"
  "/work/main/src/train/zoo_modadd.cpp" "CMakeFiles/glassbox_train.dir/src/train/zoo_modadd.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/zoo_modadd.cpp.o.d"
  "/work/main/src/train/zoo_registry.cpp" "CMakeFiles/glassbox_train.dir/src/train/zoo_registry.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/zoo_registry.cpp.o.d"
  "/work/main/src/train/zoo_sha256.cpp" "CMakeFiles/glassbox_train.dir/src/train/zoo_sha256.cpp.o" "gcc" "CMakeFiles/glassbox_train.dir/src/train/zoo_sha256.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_engine.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_arch.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_kernels.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_tokenizer.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_io.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
