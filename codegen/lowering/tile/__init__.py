"""Kernel variants of the tile family: portable.py (tinygen's C kernels)."""
