file(REMOVE_RECURSE
  "libglassbox_io.a"
)
