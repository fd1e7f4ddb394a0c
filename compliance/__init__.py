"""Sendguard: the kernel (``compliance.core``), the sender-side checks and the wiring."""
