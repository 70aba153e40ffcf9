file(REMOVE_RECURSE
  "CMakeFiles/test_golden.dir/golden/golden_test.cpp.o"
  "CMakeFiles/test_golden.dir/golden/golden_test.cpp.o.d"
  "CMakeFiles/test_golden.dir/golden/gradients_test.cpp.o"
  "CMakeFiles/test_golden.dir/golden/gradients_test.cpp.o.d"
  "test_golden"
  "test_golden.pdb"
  "test_golden[1]_tests.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_golden.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
