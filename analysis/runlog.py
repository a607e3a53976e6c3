"""Logging for the workflow steps: the rule's log file and the console."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

#: the analysis package's logger
NAME = "emergence_atlas"


def setup(log: str | Path | None) -> logging.Logger:
    """Log to the rule's log file and to stderr, so problems are seen on the console; debug lines (every
    row of a problem repeated over rows) go to the log file only, so that the console stays readable."""
    logger = logging.getLogger(NAME)
    logger.handlers.clear()
    logger.setLevel(logging.DEBUG)
    fmt = logging.Formatter("%(levelname)s %(message)s")
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [console]
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log, mode="w"))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    return logger
