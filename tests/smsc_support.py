"""The tests' SMSC is the benchmark's (``bench/smsc.py``): one in-process SMPP server for both."""

from __future__ import annotations

from bench.smsc import INVALID_DESTINATION, PASSWORD, SYSTEM_ID, THROTTLED, Smsc, Submitted

__all__ = ["INVALID_DESTINATION", "PASSWORD", "SYSTEM_ID", "THROTTLED", "Smsc", "Submitted"]
