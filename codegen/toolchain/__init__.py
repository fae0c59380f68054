"""Build generated projects: on the host through cffi, and for Cortex-M."""
