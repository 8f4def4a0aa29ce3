"""Where each system's examples and experiment live: what tse2.sh asks tse2/systems.py.

  python -m tse2.bin.systems describe --expdir exp --sep_tag x --cls_tag y --dumpdir dump text enroll tse_dpt_tiny
  python -m tse2.bin.systems data --system text --set dev --purpose train --sep_exp exp/sep_x --dumpdir dump
  python -m tse2.bin.systems data --system text --set train --purpose train --with_clean true ...

``describe`` prints one line per system: ``name kind cue kinds source exp_dir`` (kind:
classifier, attributes or single_stage; source: clean or sep_<tag>).  ``data`` writes the
system's example dir of one set (``tse2.bin.cls_data``, options as :meth:`System.examples` says)
and prints its path, then the ESPnet data options of a ``train`` or ``valid`` set, one a line.

``--with_clean true`` (training sets of a system on separated outputs; ``tse2.sh
--cls_train_clean``): the examples are those of the separated outputs and those of the references
(the ``<system>_clean`` examples, ids prefixed ``clean-``), in ``<example dir>_with_clean``.  On the
embedded recipe this lifted the text classifier's test Sep ACC from 78.4 % to 83.7 % (the README
of ``egs/mini_espeak/tse2`` has the runs).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.examples import CLEAN_PREFIX, combine_examples, write_examples
from tse2.systems import CLEAN, system
from tse2.utils.cli import run_tool, tool_parser

log = logging.getLogger("systems")


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
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
    x.add_argument("--with_clean", choices=("true", "false"), default="false",
                   help="a training set of a system on separated outputs also holds the references' examples")
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
    mix_dir, types = Path(f"data/{args.set_name}_mix"), [c for c in cue_types.split(",") if c]
    with_clean = args.with_clean == "true"
    if with_clean and (args.purpose != "train" or sep_dir is None or not s.base.trained):
        raise ValueError(f"--with_clean true: only the training set of a trained system on separated outputs "
                         f"takes the references' examples too (not {args.system}, {args.purpose})")
    counts = write_examples(mix_dir, Path(out), sep_dir, s.base.cue, [s.kinds], keep_similar, types)
    if with_clean:
        clean = system(s.base_name + CLEAN).data_dir(args.dumpdir, sep_tag, args.set_name) + suffix
        write_examples(mix_dir, Path(clean), None, s.base.cue, [s.kinds], keep_similar, types)
        parts = [("", Path(out)), (CLEAN_PREFIX, Path(clean))]
        out = out + "_with_clean"
        counts = combine_examples(parts, Path(out))
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
