"""Kernel variants of the arg minmax family: portable.py (tinygen's C kernels)."""
