
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/engine/backward.cpp" "CMakeFiles/glassbox_engine.dir/src/engine/backward.cpp.o" "gcc" "CMakeFiles/glassbox_engine.dir/src/engine/backward.cpp.o.d"
  "/work/main/src/engine/batch.cpp" "CMakeFiles/glassbox_engine.dir/src/engine/batch.cpp.o" "gcc" "CMakeFiles/glassbox_engine.dir/src/engine/batch.cpp.o.d"
  "/work/main/src/engine/cache.cpp" "CMakeFiles/glassbox_engine.dir/src/engine/cache.cpp.o" "gcc" "CMakeFiles/glassbox_engine.dir/src/engine/cache.cpp.o.d"
  "/work/main/src/engine/forward.cpp" "CMakeFiles/glassbox_engine.dir/src/engine/forward.cpp.o" "gcc" "CMakeFiles/glassbox_engine.dir/src/engine/forward.cpp.o.d"
  "/work/main/src/engine/generate.cpp" "CMakeFiles/glassbox_engine.dir/src/engine/generate.cpp.o" "gcc" "CMakeFiles/glassbox_engine.dir/src/engine/generate.cpp.o.d"
  "/work/main/src/engine/hooks.cpp" "CMakeFiles/glassbox_engine.dir/src/engine/hooks.cpp.o" "gcc" "CMakeFiles/glassbox_engine.dir/src/engine/hooks.cpp.o.d"
  "/work/main/src/engine/interventions.cpp" "CMakeFiles/glassbox_engine.dir/src/engine/interventions.cpp.o" "gcc" "CMakeFiles/glassbox_engine.dir/src/engine/interventions.cpp.o.d"
  "/work/main/src/engine/metrics.cpp" "CMakeFiles/glassbox_engine.dir/src/engine/metrics.cpp.o" "gcc" "CMakeFiles/glassbox_engine.dir/src/engine/metrics.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/b-asan/CMakeFiles/glassbox_arch.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_kernels.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_tokenizer.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_io.dir/DependInfo.cmake"
  "/work/main/b-asan/CMakeFiles/glassbox_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
