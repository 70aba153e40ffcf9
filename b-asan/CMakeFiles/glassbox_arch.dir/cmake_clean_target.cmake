file(REMOVE_RECURSE
  "libglassbox_arch.a"
)
