"""Stage 7: the classifier's example lists, one directory per (set, cue, candidates).

  python -m tse2.bin.cls_data --mix_dir data/dev_mix --sep_dir exp/sep_x/separate_dev \\
      --cue text --kinds relative --out_dir dump/cls/sep_x/dev_text
  python -m tse2.bin.cls_data --mix_dir data/dev_mix --clean --cue enroll --out_dir dump/cls/clean/dev_enroll

Candidates are the separator's outputs (``--sep_dir``) or, with ``--clean``, the reverberant
references; the files written are documented in :mod:`tse2.examples`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from tse2.examples import write_examples
from tse2.utils.cli import run_tool, str2bool


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mix_dir", type=Path, required=True, help="a stage-3/4 mixture data dir")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--sep_dir", type=Path, help="stage-6 output dir of the same set")
    src.add_argument("--clean", action="store_true", help="candidates = reverberant references (oracle)")
    parser.add_argument("--cue", choices=("text", "enroll"), default="text")
    parser.add_argument("--kinds", default="relative",
                        help="prompt kinds, comma-separated: relative, independent (text cue only)")
    parser.add_argument("--cue_types", default="",
                        help="only these cue types, comma-separated (default: all)")
    parser.add_argument("--keep_similar", type=str2bool, default=False,
                        help="keep prompts whose cue is similar/same (default: false)")
    parser.add_argument("--out_dir", type=Path, required=True)
    return parser


def main_(args) -> int:
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    counts = write_examples(args.mix_dir, args.out_dir, None if args.clean else args.sep_dir, args.cue, kinds,
                            args.keep_similar, [c.strip() for c in args.cue_types.split(",") if c.strip()])
    print(f"{args.out_dir}: {sum(counts.values())} examples " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), main_, argv)


if __name__ == "__main__":
    sys.exit(main())
