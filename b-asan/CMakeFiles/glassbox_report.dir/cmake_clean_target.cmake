file(REMOVE_RECURSE
  "libglassbox_report.a"
)
