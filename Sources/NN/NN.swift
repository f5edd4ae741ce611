// The NN module; see ../shared/DESIGN.md for its place in the layers.
