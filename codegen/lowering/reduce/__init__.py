"""Kernel variants of the reduce family (one module per variant)."""
