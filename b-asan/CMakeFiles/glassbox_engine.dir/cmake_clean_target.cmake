file(REMOVE_RECURSE
  "libglassbox_engine.a"
)
