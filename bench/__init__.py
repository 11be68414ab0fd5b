"""Benchmarks that print figures: ``python -m bench [signin|check|roster|all] [--quick]``."""
