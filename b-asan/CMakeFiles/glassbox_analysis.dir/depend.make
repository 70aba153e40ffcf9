# Empty dependencies file for glassbox_analysis.
# This may be replaced when dependencies are built.
