"""Kernel variants of the DIV family: portable.py (tinygen's C kernel). The layer's meaning
and numbers come from codegen/ops/div.py."""
