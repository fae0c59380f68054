"""Kernel variants of the SQUARED_DIFFERENCE family: portable.py (tinygen's C kernel). The
layer's meaning and numbers come from codegen/ops/squared_difference.py."""
