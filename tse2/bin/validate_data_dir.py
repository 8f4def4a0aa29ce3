"""Validate Kaldi-style data directories; exit 1 and list every problem when one is invalid.

Usage: python -m tse2.bin.validate_data_dir [--fs 16000] [--no_check_audio] data/train [data/dev ...]
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from tse2.utils.datadir import validate_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dirs", nargs="+", help="data directories to check")
    parser.add_argument("--fs", type=int, default=None, help="required sample rate of wav.scp audio")
    parser.add_argument("--no_check_audio", action="store_true",
                        help="only check that audio files exist, not their headers")
    parser.add_argument("--max_errors", type=int, default=50, help="errors printed per data dir")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    status = 0
    for d in args.data_dirs:
        errors = validate_data_dir(d, check_audio_files=not args.no_check_audio, fs=args.fs)
        if errors:
            status = 1
            for e in errors[: args.max_errors]:
                print(f"validate_data_dir: {e}", file=sys.stderr)
            if len(errors) > args.max_errors:
                print(f"validate_data_dir: ... and {len(errors) - args.max_errors} more", file=sys.stderr)
            print(f"validate_data_dir: {d}: INVALID ({len(errors)} problem(s))", file=sys.stderr)
        else:
            print(f"validate_data_dir: {d}: OK")
    return status


if __name__ == "__main__":
    sys.exit(main())
