file(REMOVE_RECURSE
  "libglassbox_kernels.a"
)
