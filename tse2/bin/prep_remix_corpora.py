"""Kaldi data dirs of the remix paper's corpora: TextrolSpeech speech, VGGSound and/or FSD50K sounds.

  python -m tse2.bin.prep_remix_corpora --textrolspeech /db/TextrolSpeech \\
      --captions /db/TextrolSpeech/caption.csv --vggsound /db/vggsound --fsd50k /db/FSD50K \\
      --data_root data --resample_dir downloads/resampled [--unseen "dog barking,church bell ringing"]

Writes ``data/{train,dev,test}`` (speech: utt2spk, spk2gender, utt2style; speaker-disjoint) and
``data/sounds_{train,valid,test[,unseen]}`` (utt2category).  An empty sound path leaves that
corpus out; at least one is needed.  Layouts and label maps: ``tse2/corpus/remix_corpora.py``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.corpus import remix_corpora as rc
from tse2.utils.cli import print_written, report_read, run_tool

log = logging.getLogger("tse2.prep_remix_corpora")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--textrolspeech", type=Path, required=True, help="the corpus root (wav_fp paths are under it)")
    p.add_argument("--captions", type=Path, default=None, help="the caption CSV (default: <root>/caption.csv)")
    p.add_argument("--vggsound", default="", help="VGGSound root holding vggsound.csv (empty: leave it out)")
    p.add_argument("--vggsound_audio", default="", help="where its clips are (default: <root>/audio)")
    p.add_argument("--fsd50k", default="", help="FSD50K root holding FSD50K.ground_truth/ (empty: leave it out)")
    p.add_argument("--unseen", default="", help="sound categories kept for the zero-shot set only (comma-separated)")
    p.add_argument("--data_root", type=Path, required=True)
    p.add_argument("--resample_dir", type=Path, required=True, help="where audio not at 16 kHz mono is resampled to")
    p.add_argument("--fs", type=int, default=16000)
    return p


def prepare(args) -> int:
    captions = args.captions or args.textrolspeech / "caption.csv"
    speech, skipped = rc.read_textrolspeech(args.textrolspeech, captions)
    report_read(log, "TextrolSpeech", len(speech), skipped)
    sounds = []
    if args.vggsound:
        got, skipped = rc.read_vggsound(Path(args.vggsound), Path(args.vggsound_audio) if args.vggsound_audio else None)
        report_read(log, "VGGSound", len(got), skipped)
        sounds += got
    if args.fsd50k:
        got, skipped = rc.read_fsd50k(Path(args.fsd50k))
        report_read(log, "FSD50K", len(got), skipped)
        sounds += got
    if not sounds:
        raise ValueError("no sound clip: set VGGSOUND or FSD50K in db.sh (and extract their audio)")
    unseen = [u for u in args.unseen.split(",") if u.strip()]
    print_written(rc.write_speech(speech, args.data_root, args.resample_dir, args.fs), args.data_root, "utterances")
    print_written(rc.write_sounds(sounds, args.data_root, args.resample_dir, args.fs, unseen), args.data_root,
                  "clips", prefix="sounds_")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), prepare, argv)


if __name__ == "__main__":
    sys.exit(main())
