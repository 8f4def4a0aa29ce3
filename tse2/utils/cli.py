"""The shared shape of tse2's command-line tools: parse, log, dispatch, and turn the errors a
user can cause (bad data, missing files, failed external tools) into a one-line message and
exit status 1 instead of a traceback."""

from __future__ import annotations

import argparse
import logging
from typing import Callable, List, Mapping, Optional, Union

USER_ERRORS = (ValueError, KeyError, OSError, RuntimeError)
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def run_tool(
    parser: argparse.ArgumentParser,
    handlers: Union[Callable[[argparse.Namespace], int], Mapping[str, Callable[[argparse.Namespace], int]]],
    argv: Optional[List[str]] = None,
) -> int:
    """Parses ``argv`` and calls the handler (or ``handlers[args.command]``); returns the exit status."""
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        handler = handlers if callable(handlers) else handlers[args.command]
        return int(handler(args) or 0)
    except USER_ERRORS as exc:
        logging.getLogger(parser.prog).error("%s", exc)
        return 1
