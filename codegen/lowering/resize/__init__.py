"""Kernel variants of the resize family: portable.py (tinygen's C kernels). The layer's meaning
and numbers come from codegen/ops/resize.py."""
