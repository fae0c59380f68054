"""Kernel variants of the slice family: portable.py (tinygen's C kernels)."""
