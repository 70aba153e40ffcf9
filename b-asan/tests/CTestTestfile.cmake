# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/b-asan/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/b-asan/tests/test_io[1]_include.cmake")
include("/work/main/b-asan/tests/test_tokenizer[1]_include.cmake")
include("/work/main/b-asan/tests/test_kernels[1]_include.cmake")
include("/work/main/b-asan/tests/test_engine[1]_include.cmake")
include("/work/main/b-asan/tests/test_golden[1]_include.cmake")
include("/work/main/b-asan/tests/test_train[1]_include.cmake")
include("/work/main/b-asan/tests/test_report[1]_include.cmake")
