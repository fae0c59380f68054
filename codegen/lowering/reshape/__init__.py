"""Kernel variants of the reshape family (one module per variant)."""
