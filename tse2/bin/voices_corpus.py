"""The voices corpus (recorded speech + natural-voice synthesizers): data dirs and its table.

  python -m tse2.bin.voices_corpus --voices recorded,festival --voices_dir ../../../tools/voices \\
      --data_root data --wav_dir downloads/voices/wav --fs 16000 --report data/local/voices/corpus.md

Writes ``data/voices_train`` (every synthesizer and the recorded speakers not held out),
``data/dev_real`` and ``data/test_real`` (recorded speakers only, held out by name) with
``wav.scp utt2spk spk2utt utt2lang utt2source utt2dur spk2gender`` (+ ``text`` where every
utterance has one); ``spk2gender`` lists only the speakers whose gender is known.  Sources, their
packages and licences: ``tse2/corpus/voices.py``.  ``--voices`` takes ``recorded`` (all recorded
sources) or source names; ``espeak`` is the embedded corpus and is skipped here.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import List, Optional

from tse2.utils.cli import run_tool
from tse2.utils.fileio import atomic_open

log = logging.getLogger("tse2.voices_corpus")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--voices", default="recorded,festival", help="sources: recorded, tuxpaint, asterisk, "
                   "hedgewars, codec2, festival, mbrola (comma or space separated; espeak is ignored here)")
    p.add_argument("--voices_dir", type=Path, default=None, help="where `make -C tools voices` unpacked the "
                   "Debian packages (searched before the installed ones)")
    p.add_argument("--data_root", type=Path, required=True)
    p.add_argument("--wav_dir", type=Path, required=True)
    p.add_argument("--work_dir", type=Path, default=None, help="synthesizer outputs (default: <wav_dir>/../work)")
    p.add_argument("--fs", type=int, default=16000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max_utts_per_speaker", type=int, default=120)
    p.add_argument("--festival_per_voice", type=int, default=60)
    p.add_argument("--mbrola_per_voice", type=int, default=60, help="sentences each MBROLA voice reads "
                   "(`make -C tools voices-mbrola`; non-commercial voices)")
    p.add_argument("--splits", default="train,dev_real,test_real",
                   help="which splits to build (dev_real,test_real reads only the held-out recorded speakers)")
    p.add_argument("--nj", type=int, default=2, help="synthesizer processes at a time")
    p.add_argument("--report", type=Path, default=None, help="markdown corpus table")
    return p


def prepare(args) -> int:
    from tse2.corpus import voices

    sources = voices.parse_sources(args.voices)
    if not sources:
        log.info("no voices source besides espeak: nothing to do")
        return 0
    utts = voices.build(sources, voices.Roots(args.voices_dir), args.fs, args.seed,
                        args.work_dir or args.wav_dir.parent / "work", args.max_utts_per_speaker,
                        args.festival_per_voice, log=log.info, nj=args.nj,
                        splits=[x for x in args.splits.split(",") if x], mbrola_per_voice=args.mbrola_per_voice)
    stats = voices.write_corpus(utts, args.wav_dir, args.data_root, args.fs)
    for name, s in stats.items():
        print(f"{args.data_root / name}: {s['utterances']} utterances, {s['speakers']} speakers, {s['minutes']:.1f} min")
    if args.report:
        with atomic_open(args.report) as f:
            f.write(voices.corpus_table(utts, args.fs))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), prepare, argv)


if __name__ == "__main__":
    raise SystemExit(main())
