"""Kernel variants of the RSQRT family: portable.py (tinygen's lookup kernel). The layer's
meaning and numbers come from codegen/ops/rsqrt.py."""
