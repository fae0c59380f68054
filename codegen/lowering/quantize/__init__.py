"""Kernel variants of the quantize family: portable.py (tinygen's C kernels). The layer's meaning
and numbers come from codegen/ops/quantize.py."""
