"""Kernel variants of the hard swish family: portable.py (tinygen's C kernels). The layer's meaning
and numbers come from codegen/ops/hard_swish.py."""
