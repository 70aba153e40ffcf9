# Empty dependencies file for glassbox_tokenizer.
# This may be replaced when dependencies are built.
