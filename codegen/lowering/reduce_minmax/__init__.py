"""Kernel variants of the reduce minmax family: portable.py (tinygen's C kernels)."""
