"""AMD tool side: Vitis HLS and Vivado scripts, fit check, overlay and board package (see README.md)."""
