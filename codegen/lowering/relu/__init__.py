"""Kernel variants of the relu family (one module per variant)."""
