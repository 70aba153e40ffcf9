file(REMOVE_RECURSE
  "libglassbox_core.a"
)
