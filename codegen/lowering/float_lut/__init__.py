"""Kernel variants of the float-table family (ELU, EXP, LOG, GELU): portable.py (tinygen's
lookup kernel). The layer's meaning and numbers come from codegen/ops/float_lut.py."""
