"""Kernel variants of the maximum minimum family: portable.py (tinygen's C kernels), cmsis_nn.py (Arm's
CMSIS-NN). The layer's meaning and numbers come from codegen/ops/maximum_minimum.py."""
