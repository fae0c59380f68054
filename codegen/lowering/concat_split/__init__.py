"""Kernel variants of the concat split family (one module per variant)."""
