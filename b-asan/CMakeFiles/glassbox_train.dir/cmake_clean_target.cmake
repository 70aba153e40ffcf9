file(REMOVE_RECURSE
  "libglassbox_train.a"
)
