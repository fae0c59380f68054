"""Kernel variants of the TRANSPOSE_CONV family: portable.py (tinygen's C kernel). The layer's
meaning and numbers come from codegen/ops/transpose_conv.py."""
