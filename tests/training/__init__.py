"""Tests of sktfm.training, one module per module (a package: its basenames cannot clash)."""
