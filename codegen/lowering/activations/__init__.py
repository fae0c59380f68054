"""Kernel variants of the activations family: portable.py (tinygen's C kernels). The layer's meaning
and numbers come from codegen/ops/activations.py."""
