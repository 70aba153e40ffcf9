
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/core/config.cpp" "CMakeFiles/glassbox_core.dir/src/core/config.cpp.o" "gcc" "CMakeFiles/glassbox_core.dir/src/core/config.cpp.o.d"
  "/work/main/src/core/dtype.cpp" "CMakeFiles/glassbox_core.dir/src/core/dtype.cpp.o" "gcc" "CMakeFiles/glassbox_core.dir/src/core/dtype.cpp.o.d"
  "/work/main/src/core/mmap_file.cpp" "CMakeFiles/glassbox_core.dir/src/core/mmap_file.cpp.o" "gcc" "CMakeFiles/glassbox_core.dir/src/core/mmap_file.cpp.o.d"
  "/work/main/src/core/tensor.cpp" "CMakeFiles/glassbox_core.dir/src/core/tensor.cpp.o" "gcc" "CMakeFiles/glassbox_core.dir/src/core/tensor.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
