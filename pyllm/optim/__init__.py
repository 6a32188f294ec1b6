"""Optimizers whose update runs as one fused C++ kernel over all parameters."""
