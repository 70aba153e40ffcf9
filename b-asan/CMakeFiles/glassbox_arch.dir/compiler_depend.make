# Empty compiler generated dependencies file for glassbox_arch.
# This may be replaced when dependencies are built.
