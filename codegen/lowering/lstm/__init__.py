"""Kernel variants of the lstm family: portable.py (tinygen's C kernels). The layer's meaning
and numbers come from codegen/ops/lstm.py."""
