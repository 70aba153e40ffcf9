
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/kernels/test_act.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_act.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_act.cpp.o.d"
  "/work/main/tests/kernels/test_attention.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_attention.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_attention.cpp.o.d"
  "/work/main/tests/kernels/test_embedding.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_embedding.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_embedding.cpp.o.d"
  "/work/main/tests/kernels/test_gradcheck_attention.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_gradcheck_attention.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_gradcheck_attention.cpp.o.d"
  "/work/main/tests/kernels/test_gradcheck_dense.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_gradcheck_dense.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_gradcheck_dense.cpp.o.d"
  "/work/main/tests/kernels/test_gradcheck_helper.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_gradcheck_helper.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_gradcheck_helper.cpp.o.d"
  "/work/main/tests/kernels/test_loss.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_loss.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_loss.cpp.o.d"
  "/work/main/tests/kernels/test_matmul.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_matmul.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_matmul.cpp.o.d"
  "/work/main/tests/kernels/test_misc.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_misc.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_misc.cpp.o.d"
  "/work/main/tests/kernels/test_norm.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_norm.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_norm.cpp.o.d"
  "/work/main/tests/kernels/test_rope.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_rope.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_rope.cpp.o.d"
  "/work/main/tests/kernels/test_softmax.cpp" "tests/CMakeFiles/test_kernels.dir/kernels/test_softmax.cpp.o" "gcc" "tests/CMakeFiles/test_kernels.dir/kernels/test_softmax.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_kernels.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
