"""Warnings that point at the user's line, not at fastlr's own."""

import sys
import warnings


def warn_at_caller(message, category):
    """``warnings.warn`` with the stack level of the first frame outside fastlr
    (the user's call, or scikit-learn's when fastlr runs inside a search)."""
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is our caller
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "fastlr":
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
