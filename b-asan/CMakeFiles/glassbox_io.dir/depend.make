# Empty dependencies file for glassbox_io.
# This may be replaced when dependencies are built.
