
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/kernels/act.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/act.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/act.cpp.o.d"
  "/work/main/src/kernels/add.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/add.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/add.cpp.o.d"
  "/work/main/src/kernels/attention.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/attention.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/attention.cpp.o.d"
  "/work/main/src/kernels/embedding.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/embedding.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/embedding.cpp.o.d"
  "/work/main/src/kernels/loss.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/loss.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/loss.cpp.o.d"
  "/work/main/src/kernels/matmul.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/matmul.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/matmul.cpp.o.d"
  "/work/main/src/kernels/norm.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/norm.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/norm.cpp.o.d"
  "/work/main/src/kernels/rope.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/rope.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/rope.cpp.o.d"
  "/work/main/src/kernels/softmax.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/softmax.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/softmax.cpp.o.d"
  "/work/main/src/kernels/threads.cpp" "CMakeFiles/glassbox_kernels.dir/src/kernels/threads.cpp.o" "gcc" "CMakeFiles/glassbox_kernels.dir/src/kernels/threads.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
