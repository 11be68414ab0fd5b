"""The one failure the local stack reports as a single line instead of a traceback."""

from __future__ import annotations


class StackError(Exception):
    """Start-up or run-time failure with a message meant for the person at the terminal."""
