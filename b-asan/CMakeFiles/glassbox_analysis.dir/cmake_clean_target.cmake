file(REMOVE_RECURSE
  "libglassbox_analysis.a"
)
