"""Kernel variants of the BATCH_MATMUL family: portable.py (tinygen's C kernel). The layer's
meaning and numbers come from codegen/ops/batch_matmul.py."""
