"""Write Kaldi data dirs for LibriSpeech (en) + MLS (fr, de, es) + AISHELL-3 (zh).

  python -m tse2.bin.prep_libri_mls_aishell3 --librispeech /db --mls /db --aishell3 /db \
      --data_root data --resample_dir downloads/resampled

Any corpus may be left out (empty path).  See :mod:`tse2.corpus.libri_mls_aishell3` for the
layouts read and the ids written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.corpus import libri_mls_aishell3 as corpus
from tse2.utils.cli import run_tool


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--librispeech", default="", help="directory holding LibriSpeech/")
    parser.add_argument("--mls", default="", help="directory holding mls_<language>/")
    parser.add_argument("--mls_languages", default="french german spanish")
    parser.add_argument("--aishell3", default="", help="directory holding data_aishell3/")
    parser.add_argument("--aishell3_dev_speakers", type=int, default=8,
                        help="training speakers moved to dev (AISHELL-3 has no dev split)")
    parser.add_argument("--data_root", type=Path, required=True)
    parser.add_argument("--fs", type=int, default=16000)
    parser.add_argument("--resample_dir", type=Path, required=True,
                        help="where audio at another sample rate is resampled to --fs")
    parser.add_argument("--skip_bad_audio", action="store_true",
                        help="log and skip unreadable/stereo/empty files instead of stopping")
    return parser


def prepare(args) -> int:
    corpora = []
    if args.librispeech:
        corpora.append(corpus.read_librispeech(Path(args.librispeech)))
    if args.mls:
        corpora.append(corpus.read_mls(Path(args.mls), args.mls_languages.split()))
    if args.aishell3:
        corpora.append(corpus.read_aishell3(Path(args.aishell3), args.aishell3_dev_speakers))
    if not corpora:
        raise ValueError("no corpus given: set at least one of --librispeech, --mls, --aishell3 (db.sh)")
    counts = corpus.write_data_dirs(corpora, args.data_root, args.fs, args.resample_dir, args.skip_bad_audio)
    for split, n in counts.items():
        logging.info("%s: %d utterances", split, n)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), prepare, argv)


if __name__ == "__main__":
    sys.exit(main())
