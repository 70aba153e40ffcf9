# Empty dependencies file for glassbox_engine.
# This may be replaced when dependencies are built.
