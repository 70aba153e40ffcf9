# Empty compiler generated dependencies file for glassbox_report.
# This may be replaced when dependencies are built.
