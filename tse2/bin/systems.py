"""Where each system's examples and experiment live: what tse2.sh asks tse2/systems.py.

  python -m tse2.bin.systems describe --expdir exp --sep_tag x --cls_tag y --dumpdir dump text enroll tse_dpt_tiny
  python -m tse2.bin.systems data --system text --set dev --purpose train --sep_exp exp/sep_x --dumpdir dump

``describe`` prints one line per system: ``name kind cue kinds source exp_dir`` (kind:
classifier, attributes or single_stage; source: clean or sep_<tag>).  ``data`` writes the
system's example dir of one set (``tse2.bin.cls_data``, options as :meth:`System.examples` says)
and prints its path, then the ESPnet data options of a ``train`` or ``valid`` set, one a line.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.examples import write_examples
from tse2.systems import system
from tse2.utils.cli import run_tool

log = logging.getLogger("systems")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("describe", help="one line per system")
    d.add_argument("--expdir", required=True)
    d.add_argument("--sep_tag", required=True)
    d.add_argument("--cls_tag", required=True)
    d.add_argument("--dumpdir", required=True)
    d.add_argument("systems", nargs="*")
    x = sub.add_parser("data", help="write one set's example dir of a system; print its ESPnet data options")
    x.add_argument("--system", required=True)
    x.add_argument("--set", dest="set_name", required=True)
    x.add_argument("--purpose", choices=("train", "valid", "eval"), required=True)
    x.add_argument("--sep_exp", required=True, help="the separator's experiment dir (its separate_<set>/)")
    x.add_argument("--dumpdir", required=True)
    return parser


def describe(args) -> int:
    for name in args.systems:
        s = system(name)
        print(name, s.kind, s.base.cue, s.kinds, s.source(args.sep_tag), s.exp_dir(args.expdir, args.sep_tag, args.cls_tag))
    return 0


def data(args) -> int:
    s = system(args.system)
    sep_tag = Path(args.sep_exp).name.removeprefix("sep_")
    suffix, keep_similar, cue_types = s.examples(args.purpose)
    out = s.data_dir(args.dumpdir, sep_tag, args.set_name) + suffix
    sep_dir = None if s.source(sep_tag) == "clean" else Path(f"{args.sep_exp}/separate_{args.set_name}")
    counts = write_examples(Path(f"data/{args.set_name}_mix"), Path(out), sep_dir, s.base.cue, [s.kinds],
                            keep_similar, [c for c in cue_types.split(",") if c])
    log.info("%s: %d examples of %s (%s)", out, sum(counts.values()), args.system, args.purpose)
    print(out)
    if args.purpose != "eval":
        for fname, name, kind in s.data_names():
            print(f"--{args.purpose}_data_path_and_name_and_type", f"{out}/{fname},{name},{kind}", sep="\n")
        print(f"--{args.purpose}_shape_file", f"{out}/utt2num_samples", sep="\n")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"describe": describe, "data": data}, argv)


if __name__ == "__main__":
    sys.exit(main())
