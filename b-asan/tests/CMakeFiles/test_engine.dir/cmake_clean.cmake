file(REMOVE_RECURSE
  "CMakeFiles/test_engine.dir/engine/cache_test.cpp.o"
  "CMakeFiles/test_engine.dir/engine/cache_test.cpp.o.d"
  "CMakeFiles/test_engine.dir/engine/generate_test.cpp.o"
  "CMakeFiles/test_engine.dir/engine/generate_test.cpp.o.d"
  "CMakeFiles/test_engine.dir/engine/hooks_test.cpp.o"
  "CMakeFiles/test_engine.dir/engine/hooks_test.cpp.o.d"
  "CMakeFiles/test_engine.dir/engine/interventions_test.cpp.o"
  "CMakeFiles/test_engine.dir/engine/interventions_test.cpp.o.d"
  "CMakeFiles/test_engine.dir/engine/loader_test.cpp.o"
  "CMakeFiles/test_engine.dir/engine/loader_test.cpp.o.d"
  "test_engine"
  "test_engine.pdb"
  "test_engine[1]_tests.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_engine.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
