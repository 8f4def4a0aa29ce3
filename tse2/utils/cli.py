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
    quiet: bool = False,
) -> int:
    """Parses ``argv`` and calls the handler (or ``handlers[args.command]``); returns the exit status.
    ``quiet`` (the end-user tools): library notices that mean nothing to a user are dropped
    (:func:`quiet_libraries`)."""
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    exit_on_sigterm()
    if quiet:
        quiet_libraries()
    try:
        handler = handlers if callable(handlers) else handlers[args.command]
        return int(handler(args) or 0)
    except USER_ERRORS as exc:
        logging.getLogger(parser.prog).error("%s", exc)
        return 1


# library messages a user of the end-user tools cannot act on
NOISE = ("Eps is deprecated",  # ESPnet's si_snr loss, built with every separator
         "Failed to import Flash Attention")  # printed by ESPnet's attention module on import


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(NOISE)


def quiet_libraries() -> None:
    """For the end-user tools (extract, remix, retrieval queries): no Hugging Face progress bars,
    no FutureWarning/DeprecationWarning from the libraries, none of the logged :data:`NOISE`
    notices (see :func:`import_quietly` for the printed one)."""
    import os
    import warnings

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read when huggingface_hub is imported
    for category in (FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", message=r"Detected pickle protocol")  # torch, on our own checkpoints
    root = logging.getLogger()
    if not any(isinstance(f, _DropNoise) for f in root.filters):
        root.addFilter(_DropNoise())


def import_quietly(module: str) -> None:
    """Imports ``module`` with the :data:`NOISE` lines it prints held back (ESPnet's attention
    module prints its flash-attention notice with ``print``; the remix tool imports it through
    its model)."""
    import contextlib
    import io
    import sys

    if module in sys.modules:
        return
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        __import__(module)
    for line in buf.getvalue().splitlines():
        if not line.startswith(NOISE):
            print(line)


def exit_on_sigterm() -> None:
    """SIGTERM (``kill``, a scheduler's cancel, a stage script stopping its jobs) exits like Ctrl-C:
    ``finally`` blocks run, so no temporary file is left behind (Python's default dies at once)."""
    import signal
    import threading

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def str2bool(value: str) -> bool:
    """``true``/``false`` (any case) for a command-line option, as tse2.sh passes booleans."""
    v = str(value).strip().lower()
    if v not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return v == "true"


def tool_parser(doc: Optional[str]):
    """(parser, sub-command parsers) of a stage tool with sub-commands: the module docstring as its
    description, one sub-command required."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser, parser.add_subparsers(dest="command", required=True)


def add_run_parser(sub, help_text: str, stage: int, default_checkpoint: str = "the best one kept",
                   examples: Optional[str] = None):
    """The ``run`` sub-command of a stage tool (one part of a JOB array) with the model options every
    one takes: ``--model_dir`` (an ESPnet output dir of ``stage``), ``--model_file``, ``--ngpu``;
    with ``examples`` (what the dir must hold), ``--data_dir`` (a ``tse2.bin.cls_data`` output dir)
    and ``--key_file``, the part of its examples to run."""
    from pathlib import Path

    r = sub.add_parser("run", help=help_text)
    r.add_argument("--model_dir", type=Path, required=True, help=f"ESPnet output dir of stage {stage}")
    r.add_argument("--model_file", type=Path, default=None,
                   help=f"checkpoint: a path or a file name in --model_dir (default: {default_checkpoint})")
    r.add_argument("--ngpu", type=int, default=0, help="GPUs (0: CPU)")
    if examples:
        r.add_argument("--data_dir", type=Path, required=True, help=f"a tse2.bin.cls_data output dir ({examples})")
        r.add_argument("--key_file", type=Path, default=None, help="only these examples (default: all)")
    return r


def add_merge_parser(sub, input_flag: str, help_text: str, out_flag: str = "--out_dir"):
    """The ``merge`` sub-command of a stage tool: the parts of one JOB array (positional), the input
    they were made from (``input_flag``, for the completeness check) and the output (``out_flag``)."""
    from pathlib import Path

    m = sub.add_parser("merge", help=help_text)
    m.add_argument(input_flag, type=Path, required=True)
    m.add_argument(out_flag, type=Path, required=True)
    m.add_argument("parts", type=Path, nargs="+")
    return m


def add_merge_and_report(sub, input_dir_flag: str, merge_help: str, report_help: str) -> None:
    """The ``merge`` (parts of a JOB array → one output dir) and ``report`` (several output dirs →
    one markdown table) sub-commands shared by the stage tools."""
    from pathlib import Path

    add_merge_parser(sub, input_dir_flag, merge_help)
    rep = sub.add_parser("report", help=report_help)
    rep.add_argument("--out", type=Path, required=True)
    rep.add_argument("out_dirs", type=Path, nargs="+")


def merge_parts(parts, wanted, key: str, verb: str, source, what: str = "mixture") -> dict:
    """Rows of a JOB array's JSON-lines parts, keyed by ``row[key]`` and C-sorted; every key of
    ``wanted`` must be there ("N mixture(s) of SOURCE were not VERB, e.g. X")."""
    from tse2.utils.datadir import c_sort_key
    from tse2.utils.fileio import read_jsonl

    rows = {}
    for part in parts:
        for r in read_jsonl(part, f"a job failed before it was {verb}: see its log"):
            rows[r[key]] = r
    missing = sorted(set(wanted) - set(rows), key=c_sort_key)
    if missing:
        raise ValueError(f"{len(missing)} {what}(s) of {source} were not {verb}, e.g. {missing[0]}")
    return {k: rows[k] for k in sorted(wanted, key=c_sort_key)}


def report_read(log: logging.Logger, what: str, n: int, skipped: Mapping[str, int], unit: str = "items") -> None:
    """One log line per corpus a preparation tool read: how many items, and why the others were left out."""
    left = "; left out: " + ", ".join(f"{k} ({v})" for k, v in sorted(skipped.items())) if skipped else ""
    log.info("%s: %d %s%s", what, n, unit, left)


def print_written(counts: Mapping[str, int], root, unit: str, prefix: str = "") -> None:
    """What a preparation tool wrote: one ``<root>/<prefix><split>: <n> <unit>`` line per split."""
    for split, n in sorted(counts.items()):
        print(f"{root}/{prefix}{split}: {n} {unit}")


def write_markdown(path, lines: List[str]) -> None:
    """Writes a report atomically and prints it (the ``report`` sub-commands)."""
    from tse2.utils.fileio import atomic_open

    with atomic_open(path) as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
