"""Kaldi data dirs of the paper's expressive corpora (IEMOCAP, ESD English, Expresso read speech).

  python -m tse2.bin.prep_expressive --iemocap /db/IEMOCAP_full_release --esd /db/ESD \\
      --expresso /db/expresso --data_root data --resample_dir downloads/resampled

Writes ``data/train`` (IEMOCAP whole, ESD and Expresso train), ``data/dev`` (ESD and Expresso
validation) and ``data/test_esd``, ``data/test_expresso``, each with ``utt2style`` in the paper's
22 style names. An empty path leaves that corpus out. Layouts: ``tse2/corpus/expressive.py``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

from tse2.corpus import expressive
from tse2.utils.cli import print_written, report_read, run_tool

log = logging.getLogger("tse2.prep_expressive")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iemocap", default="", help="IEMOCAP_full_release (empty: leave it out)")
    p.add_argument("--esd", default="", help="ESD root holding 0001..0020 (empty: leave it out)")
    p.add_argument("--expresso", default="", help="Expresso root holding audio_48khz/ and splits/ (empty: leave it out)")
    p.add_argument("--data_root", type=Path, required=True)
    p.add_argument("--resample_dir", type=Path, required=True, help="where audio not at 16 kHz mono is resampled to")
    p.add_argument("--fs", type=int, default=16000)
    return p


def prepare(args) -> int:
    readers = (("iemocap", args.iemocap, expressive.read_iemocap), ("esd", args.esd, expressive.read_esd),
               ("expresso", args.expresso, expressive.read_expresso))
    items = []
    for name, root, read in readers:
        if not root:
            continue
        got, skipped = read(Path(root))
        report_read(log, name, len(got), skipped, "utterances")
        items += [replace(it, split=f"test_{name}") if it.split == "test" else it for it in got]
    if not items:
        raise ValueError("no corpus given: set IEMOCAP, ESD or EXPRESSO in db.sh")
    shared = expressive.shared_speakers(items)
    if shared:
        log.info("%d speakers are in more than one split (the corpora's standard splits are by utterance)", len(shared))
    print_written(expressive.write_sets(items, args.data_root, args.resample_dir, args.fs), args.data_root,
                  "utterances")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), prepare, argv)


if __name__ == "__main__":
    sys.exit(main())
