# Empty compiler generated dependencies file for glassbox_core.
# This may be replaced when dependencies are built.
