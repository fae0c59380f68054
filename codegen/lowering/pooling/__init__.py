"""Kernel variants of the pooling family: portable.py (tinygen's C kernels), cmsis_nn.py (Arm's
CMSIS-NN), dsp.py (tinygen's DSP-extension kernels). The layer's meaning and numbers come from
codegen/ops/pooling.py."""
