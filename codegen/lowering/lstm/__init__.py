"""Kernel variants of the lstm family: portable.py (tinygen's C kernels), dsp.py (the
DSP-extension kernel). The layer's meaning and numbers come from codegen/ops/lstm.py."""
