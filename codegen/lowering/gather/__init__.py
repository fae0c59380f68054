"""Kernel variants of the gather family: portable.py (tinygen's C kernels)."""
