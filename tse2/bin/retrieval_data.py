"""Data of the retrieval task: a Kaldi data dir with a style per utterance -> the training lists.

  python -m tse2.bin.retrieval_data prepare --data_dir data/train --out dump/ret/train \\
      [--style_file utt2style] [--style_list dump/ret/style_list] [--write_style_list true]

Writes ``<out>/wav.scp`` (the utterances, checked: 16 kHz mono, non-empty), ``<out>/style``
(``utt index``, the index into the style list), ``<out>/utt2style`` and
``<out>/utt2num_samples`` (ESPnet's shape file). The training set writes the style list (its
styles, sorted); the other sets read it, and a style it lacks is an error that names it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from tse2.models.retrieval import read_style_list
from tse2.utils.audio import audio_info
from tse2.utils.cli import run_tool, str2bool, tool_parser
from tse2.utils.datadir import read_map, write_map
from tse2.utils.fileio import atomic_open


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    p = sub.add_parser("prepare", help="write wav.scp, style, utt2style and utt2num_samples of one set")
    p.add_argument("--data_dir", type=Path, required=True, help="a Kaldi data dir with wav.scp and the style file")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--style_file", default="utt2style", help="utt -> style name, in the data dir")
    p.add_argument("--style_list", type=Path, required=True, help="style names, one per line")
    p.add_argument("--write_style_list", type=str2bool, default=False,
                   help="write --style_list from this set's styles (the training set) instead of reading it")
    p.add_argument("--fs", type=int, default=16000)
    return parser


def prepare(args) -> int:
    d = args.data_dir
    for name in ("wav.scp", args.style_file):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d / name}: missing (the retrieval task needs wav.scp and {args.style_file})")
    wavs, styles = read_map(d / "wav.scp"), read_map(d / args.style_file)
    missing = sorted(set(wavs) - set(styles))
    if missing:
        raise ValueError(f"{d / args.style_file}: no style for {len(missing)} utterance(s), e.g. {missing[0]}")
    if args.write_style_list:
        with atomic_open(args.style_list) as f:
            f.write("".join(s + "\n" for s in sorted(set(styles[u] for u in wavs))))
    names = read_style_list(str(args.style_list))
    index = {s: i for i, s in enumerate(names)}
    unknown = sorted(set(styles[u] for u in wavs) - set(index))
    if unknown:
        raise ValueError(f"{d / args.style_file}: styles {unknown} are not in {args.style_list} "
                         f"(the training set's styles)")
    lengths = {}
    for utt, path in wavs.items():
        rate, channels, frames = audio_info(path)
        if rate != args.fs or channels != 1 or frames == 0:
            raise ValueError(f"{path} (utterance {utt}): {rate} Hz, {channels} channel(s), {frames} samples; "
                             f"expected {args.fs} Hz mono audio")
        lengths[utt] = str(frames)
    write_map(args.out / "wav.scp", wavs)
    write_map(args.out / "utt2style", {u: styles[u] for u in wavs})
    write_map(args.out / "style", {u: str(index[styles[u]]) for u in wavs})
    write_map(args.out / "utt2num_samples", lengths)
    print(f"{args.out}: {len(wavs)} utterances, {len(set(styles[u] for u in wavs))} styles")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"prepare": prepare}, argv)


if __name__ == "__main__":
    sys.exit(main())
