"""Separator training on a lent accelerator (:mod:`tse2.tasks.sep_fast`: why, what, output).

  python -m tse2.bin.sep_train_fast --payload PAYLOAD --out OUT --minutes 8 \\
      --hidden 256 --layers 3 --init released/sep_blstm_256x3_dm/model.pth

The payload comes from :mod:`tse2.bin.sep_payload`; ``bench/gpu_separator.sh`` runs two of these
at once on a GPU.  ``--dry_run N --device cpu`` runs N steps here (the tests do).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from tse2.tasks.sep_fast import AUGMENTATIONS, train


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--payload", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--minutes", type=float, default=8.0, help="wall-clock training budget")
    p.add_argument("--save_at", default="", help="also save at these minutes (comma-separated)")
    p.add_argument("--arch", default="blstm_mask", choices=("blstm_mask", "tf_locoformer"),
                   help="blstm_mask (--hidden x --layers) or tf_locoformer (the paper config; --layers overrides its 6)")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=0, help="layers (0: the architecture's own, 3 or 6)")
    p.add_argument("--n_fft", type=int, default=512)
    p.add_argument("--hop", type=int, default=256)
    p.add_argument("--init", default="", help="an ESPnet-layout state dict of the same size to start from")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--chunk", type=float, default=4.0, help="seconds per example")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=200, help="steps of linear warm-up")
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--aug", default=",".join(AUGMENTATIONS), help=f"augmentations, of {AUGMENTATIONS}")
    p.add_argument("--aug_prob", type=float, default=0.3, help="probability of each augmentation")
    p.add_argument("--real_weight", type=float, default=2.0,
                   help="sampling weight of a recorded speaker's utterance against a synthetic one")
    p.add_argument("--dev_mixtures", type=int, default=200)
    p.add_argument("--eval_every", type=float, default=1.0, help="minutes between dev evaluations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda")
    p.add_argument("--bf16", default="false", choices=("true", "false"), help="autocast the model to bfloat16")
    p.add_argument("--save_last", default="false", choices=("true", "false"), help="also keep last.pth")
    p.add_argument("--dry_run", type=int, default=0, help="run this many steps on a tiny batch and stop (tests)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        return train(args)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"sep_train_fast: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
