"""Data of the remix task: the sound bank, the fixed remix sets and the training slots.

  python -m tse2.bin.remix_data bank --wav_dir downloads/sound_bank --data_root data [--fs 16000]
  python -m tse2.bin.remix_data set --speech_dir data/test --sound_dir data/sounds_test \\
      --out data/remix_test --wav_dir downloads/remix/test --num 480 --seed 3 [--n_speech 2 --n_audio 2]
  python -m tse2.bin.remix_data slots --out dump/remix/train --num 4000 [--length 4.0]

``bank`` reads the Debian sound packages (:mod:`tse2.corpus.sounds`) into ``data/sounds_{train,
valid,test,unseen}`` and prints the category table.  ``set`` writes a fixed set (file formats in
:func:`tse2.simulation.remix.write_set`), one task per mixture drawn uniformly among those the
composition allows.  ``slots`` writes the training list of dynamic mixing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from tse2.utils.cli import run_tool, tool_parser


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    b = sub.add_parser("bank", help="the sound bank's wavs and data dirs")
    b.add_argument("--wav_dir", type=Path, required=True)
    b.add_argument("--data_root", type=Path, required=True)
    b.add_argument("--fs", type=int, default=16000)
    b.add_argument("--segment", type=float, default=4.0, help="long clips are cut into pieces of this many seconds")
    b.add_argument("--root", default="/", help="where the Debian packages are installed (tests: a fixture tree)")
    b.add_argument("--report", type=Path, default=None, help="also write the category table here")
    s = sub.add_parser("set", help="a fixed remix set")
    s.add_argument("--speech_dir", default=None, help="speech data dir (none: no speech sources)")
    s.add_argument("--sound_dir", default=None, help="sound-bank data dir (none: no audio sources)")
    s.add_argument("--speech_styles", default=None, help="only these styles (comma-separated)")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--wav_dir", type=Path, required=True)
    s.add_argument("--num", type=int, required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n_speech", type=int, default=2)
    s.add_argument("--n_audio", type=int, default=2)
    s.add_argument("--length", type=float, default=4.0, help="seconds")
    s.add_argument("--fs", type=int, default=16000)
    s.add_argument("--prefix", default="mix")
    s.add_argument("--tasks", default=None, help="only these tasks (comma-separated; default: all the composition allows)")
    s.add_argument("--absent", action="store_true",
                   help="every prompt names a source the mixture lacks (ABSE ABSR ABSU ABSD in turn); "
                        "no src<k>.scp is written, as the cascade has nothing to show there")
    t = sub.add_parser("slots", help="training slots of dynamic mixing")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--num", type=int, required=True)
    t.add_argument("--length", type=float, default=4.0)
    t.add_argument("--fs", type=int, default=16000)
    t.add_argument("--n_speech", type=int, default=2)
    t.add_argument("--n_audio", type=int, default=2)
    return parser


def bank(args) -> int:
    from tse2.corpus.sounds import bank_report, write_bank
    from tse2.utils.fileio import atomic_open

    counts = write_bank(str(args.wav_dir), str(args.data_root), args.fs, args.segment, args.root)
    report = bank_report(counts)
    if args.report:
        with atomic_open(args.report) as f:
            f.write(report)
    print(report)
    return 0


def make_set(args) -> int:
    from tse2.simulation.remix import load_pool, write_set

    if args.num < 1:
        raise ValueError(f"--num must be >= 1, got {args.num}")
    styles = args.speech_styles.replace(",", " ").split() if args.speech_styles else None
    pool = load_pool(args.speech_dir if args.n_speech else None, args.sound_dir if args.n_audio else None, styles)
    tasks = args.tasks.replace(",", " ").split() if args.tasks else None
    counts = write_set(str(args.out), str(args.wav_dir), pool, args.fs, args.num, args.seed, args.n_speech,
                       args.n_audio, args.length, args.prefix, tasks, write_sources=not args.absent,
                       absent=args.absent)
    print(f"{args.out}: {args.num} mixtures of {args.n_speech} speech + {args.n_audio} audio; tasks "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


def slots(args) -> int:
    from tse2.simulation.remix import write_slots

    write_slots(str(args.out), args.num, int(round(args.length * args.fs)), args.n_speech, args.n_audio)
    print(f"{args.out}: {args.num} training slots")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"bank": bank, "set": make_set, "slots": slots}, argv)


if __name__ == "__main__":
    sys.exit(main())
