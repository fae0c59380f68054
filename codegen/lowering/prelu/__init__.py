"""Kernel variants of the PRELU family: portable.py (tinygen's C kernel). The layer's meaning
and numbers come from codegen/ops/prelu.py."""
