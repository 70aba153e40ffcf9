file(REMOVE_RECURSE
  "libglassbox_tokenizer.a"
)
