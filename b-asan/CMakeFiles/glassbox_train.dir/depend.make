# Empty dependencies file for glassbox_train.
# This may be replaced when dependencies are built.
