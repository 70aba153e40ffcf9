# Empty compiler generated dependencies file for glassbox_kernels.
# This may be replaced when dependencies are built.
