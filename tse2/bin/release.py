"""Release a trained model into a recipe, and install a release where the stages find it.

  python -m tse2.bin.release make --exp_dir exp/sep_blstm --checkpoint exp/sep_blstm/valid.si_snr_loss.best.pth \\
      --out_dir pretrained/sep_blstm --threads 2 --command "./run.sh ..." --corpus "--scale 10" \\
      [--results exp/sep_blstm/separate_test/summary.json]
  python -m tse2.bin.release install --release_dir pretrained/sep_blstm --exp_dir exp/sep_blstm   # stage 5
  python -m tse2.bin.release install --kind classifier --release_dir released/cls_minilm_whisper/text \
      --exp_dir exp/cls_minilm_whisper_text                                                    # stage 7
  python -m tse2.bin.release compact --release_dir pretrained/sep_blstm \\
      [--measured "test SI-SDRi 6.50 dB with the float32 weights, 6.50 dB with the float16 ones"]

``make`` stores the weights in float16 (``--stored_dtype float32`` keeps them as trained); ``compact``
does the same to a float32 release and updates its sha256.  Every loader casts them back to float32.

The layout and checks are documented in :mod:`tse2.release`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from tse2.release import KINDS, STORED_DTYPES, compact_release, install_release, make_release, summary
from tse2.utils.cli import run_tool, tool_parser

log = logging.getLogger("release")


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    m = sub.add_parser("make", help="write a release dir from an ESPnet experiment dir")
    m.add_argument("--exp_dir", type=Path, required=True)
    m.add_argument("--checkpoint", type=Path, required=True)
    m.add_argument("--out_dir", type=Path, required=True)
    m.add_argument("--kind", default="separator", choices=KINDS)
    m.add_argument("--threads", required=True,
                   help="CPU threads the training ran with (for CPU-hours); a resumed run: one per log, "
                        "oldest first, comma-separated (e.g. 1,2); 0 on GPU")
    m.add_argument("--command", dest="replay", required=True, help="the exact command that reproduces it")
    m.add_argument("--corpus", required=True, help="the corpus options it was trained on")
    m.add_argument("--results", nargs="*", default=[], metavar="SET=summary.json",
                   help="stage-6 summaries of the released model, e.g. test=exp/x/separate_test/summary.json")
    m.add_argument("--notes", default="")
    m.add_argument("--stored_dtype", default="float16", choices=STORED_DTYPES,
                   help="the dtype model.pth stores floating-point tensors in (loaded as float32 either way)")
    i = sub.add_parser("install", help="verify a release and copy it into an experiment dir")
    i.add_argument("--release_dir", type=Path, required=True)
    i.add_argument("--exp_dir", type=Path, required=True)
    i.add_argument("--kind", default="separator", choices=("separator", "classifier"),
                   help="the kind the release must be (stage 5: separator, stage 7: classifier)")
    c = sub.add_parser("compact", help="store a release's weights in float16 and update its release.json")
    c.add_argument("--release_dir", type=Path, required=True)
    c.add_argument("--measured", default="",
                   help="what the float16 weights scored against the float32 ones, for release.json and the README")
    return parser


def make(args) -> int:
    results = {}
    for item in args.results:
        name, _, path = item.partition("=")
        if not path:
            raise ValueError(f"--results {item!r}: expected SET=summary.json")
        results[name] = json.loads(Path(path).read_text(encoding="utf-8"))
    try:
        threads = [int(t) for t in args.threads.split(",")]
    except ValueError:
        raise ValueError(f"--threads {args.threads!r}: expected integers, comma-separated (e.g. 1,2)") from None
    meta = make_release(args.exp_dir, args.out_dir, args.checkpoint, args.kind, args.replay, args.corpus,
                        threads, results, args.notes, args.stored_dtype)
    log.info("released %s", summary(meta))
    return 0


def install(args) -> int:
    meta = install_release(args.release_dir, args.exp_dir, args.kind)
    log.info("released %s %s, installed in %s", args.kind, summary(meta), args.exp_dir)
    return 0


def compact(args) -> int:
    meta = compact_release(args.release_dir, args.measured)
    size = (args.release_dir / "model.pth").stat().st_size
    log.info("stored %s in float16: %d bytes, sha256 %s", args.release_dir, size, meta["files"]["model.pth"])
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"make": make, "install": install, "compact": compact}, argv)


if __name__ == "__main__":
    sys.exit(main())
