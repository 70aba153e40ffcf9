file(REMOVE_RECURSE
  "CMakeFiles/glassbox_engine.dir/src/engine/backward.cpp.o"
  "CMakeFiles/glassbox_engine.dir/src/engine/backward.cpp.o.d"
  "CMakeFiles/glassbox_engine.dir/src/engine/batch.cpp.o"
  "CMakeFiles/glassbox_engine.dir/src/engine/batch.cpp.o.d"
  "CMakeFiles/glassbox_engine.dir/src/engine/cache.cpp.o"
  "CMakeFiles/glassbox_engine.dir/src/engine/cache.cpp.o.d"
  "CMakeFiles/glassbox_engine.dir/src/engine/forward.cpp.o"
  "CMakeFiles/glassbox_engine.dir/src/engine/forward.cpp.o.d"
  "CMakeFiles/glassbox_engine.dir/src/engine/generate.cpp.o"
  "CMakeFiles/glassbox_engine.dir/src/engine/generate.cpp.o.d"
  "CMakeFiles/glassbox_engine.dir/src/engine/hooks.cpp.o"
  "CMakeFiles/glassbox_engine.dir/src/engine/hooks.cpp.o.d"
  "CMakeFiles/glassbox_engine.dir/src/engine/interventions.cpp.o"
  "CMakeFiles/glassbox_engine.dir/src/engine/interventions.cpp.o.d"
  "CMakeFiles/glassbox_engine.dir/src/engine/metrics.cpp.o"
  "CMakeFiles/glassbox_engine.dir/src/engine/metrics.cpp.o.d"
  "libglassbox_engine.a"
  "libglassbox_engine.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/glassbox_engine.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
