"""Stage 4: cue labels and text prompts for a mixture data dir, and the cue statistics report.

  python -m tse2.bin.make_prompts label --mix_dir data/train_mix --bins data/train_mix/independent_bins.json \\
      --fit_bins [--keep_similar false] [--seed 0]
  python -m tse2.bin.make_prompts label --mix_dir data/dev_mix --bins data/train_mix/independent_bins.json
  python -m tse2.bin.make_prompts report --out data/cue_report.md data/train_mix data/dev_mix data/test_mix

``label`` reads ``mixtures.jsonl`` and writes ``cues.jsonl`` (every cue's relative and independent
category and Δ per mixture) and ``prompts.jsonl`` (one row per prompt: ``id mix cue_type kind
cues similar target prompt``; kind is ``relative`` or ``independent``), from the training
templates (``--variety``: a share of them from the prompt-variety engine's training grammar) or,
with ``--templates heldout``, from the engine's held-out grammar, frames and words kept out of
training (stage 4 writes such a copy of each test set, ``<set>_heldout_mix``), or with ``--templates handwritten`` from the
hand-written test sentences (single relative cues only; ``<set>_handwritten_mix``).  ``--fit_bins`` fits the
independent cues' equal-frequency bins on this dir (the training set) and saves them to
``--bins``; otherwise they are read from it.  ``report`` writes the paper's Table II (relative
categories per attribute) and Table III (prompts per cue type, similar/same excluded) per set.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import zlib
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from tse2.cues.labels import CONTINUOUS, CUE_TYPES, DISCRETE, SAME, SIMILAR, IndependentBins, fit_values, label_mixture
from tse2.cues.prompts import TEMPLATE_SETS, choose_cue_sets, prompt_pair
from tse2.utils.cli import run_tool, str2bool, tool_parser
from tse2.utils.fileio import atomic_open, read_jsonl

log = logging.getLogger("make_prompts")


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    lab = sub.add_parser("label", help="cue labels and prompts of one mixture dir")
    lab.add_argument("--mix_dir", type=Path, required=True)
    lab.add_argument("--bins", type=Path, required=True, help="independent-cue bin edges (JSON)")
    lab.add_argument("--fit_bins", action="store_true", help="fit the bins on this dir and save them")
    lab.add_argument("--keep_similar", type=str2bool, default=False,
                     help="also write prompts of similar/same individual cues (flagged similar=true)")
    lab.add_argument("--seed", type=int, default=0)
    lab.add_argument("--variety", type=float, default=0.0,
                     help="with --templates train: the share of relative prompts worded by the prompt-variety "
                          "engine's training grammar (tse2.cues.variety) instead of the templates; stage 4 "
                          "gives it (--prompt_variety) to the training and validation sets")
    lab.add_argument("--templates", choices=TEMPLATE_SETS, default="train",
                     help="phrasings: train (the training templates), heldout (only for testing: the "
                          "engine's held-out grammar, frames and words never used in training) or handwritten (only for testing: "
                          "the hand-written sentences of tse2/cues/handwritten/extraction.txt, single "
                          "relative cues)")
    rep = sub.add_parser("report", help="Table II/III markdown over several mixture dirs")
    rep.add_argument("--out", type=Path, required=True)
    rep.add_argument("mix_dirs", type=Path, nargs="+")
    return parser


def label(args) -> int:
    rows = read_jsonl(args.mix_dir / "mixtures.jsonl")
    if args.fit_bins:
        bins = IndependentBins.fit(fit_values(rows))
        bins.save(args.bins)
        log.info("fitted independent bins on %d mixtures: %s", len(rows), bins.edges)
    else:
        bins = IndependentBins.load(args.bins)
    cue_rows, prompt_rows = [], []
    for row in rows:
        labels = label_mixture(row, bins)
        cue_rows.append({"mix": row["mix"], "target": row["target"], "cues": {
            name: {"relative": lab.relative, "independent": lab.independent,
                   "delta": None if lab.delta is None else round(lab.delta, 4)} for name, lab in labels.items()}})
        h = zlib.crc32(row["mix"].encode("utf-8"))
        for cue_type, cues in choose_cue_sets(labels, np.random.default_rng([args.seed, h, 999]), args.keep_similar):
            rel, ind = prompt_pair(cues, [args.seed, h, CUE_TYPES.index(cue_type)], args.templates, args.variety)
            slug = cue_type.replace(" ", "_")
            for kind, text, cats in (("relative", rel, {c.cue: c.relative for c in cues}),
                                     ("independent", ind, {c.cue: c.independent for c in cues})):
                if text is None:
                    continue
                # relative: a similar/same category; independent: both talkers in one bin
                similar = any(not (c.discriminative if kind == "relative" else c.independent_discriminative)
                              for c in cues)
                prompt_rows.append({"id": f"{row['mix']}_{slug}_{kind[:3]}", "mix": row["mix"], "cue_type": cue_type,
                                    "kind": kind, "cues": cats, "similar": similar, "target": row["target"],
                                    "prompt": text})
    with atomic_open(args.mix_dir / "cues.jsonl") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in cue_rows))
    with atomic_open(args.mix_dir / "prompts.jsonl") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in prompt_rows))
    log.info("%s: %d mixtures, %d prompts", args.mix_dir, len(rows), len(prompt_rows))
    return 0


def report(args) -> int:
    names = [d.name for d in args.mix_dirs]
    table2: Dict[str, Counter] = {}
    table3: Dict[str, Counter] = {}
    for d in args.mix_dirs:
        for row in read_jsonl(d / "cues.jsonl"):
            for cue, lab in row["cues"].items():
                key = lab["relative"] if cue not in DISCRETE or lab["relative"] == SAME else "different"
                table2.setdefault(cue, Counter())[(d.name, key)] += 1
        for p in read_jsonl(d / "prompts.jsonl"):
            if p["kind"] == "relative" and not p["similar"]:
                table3.setdefault(p["cue_type"], Counter())[d.name] += 1
    lines = ["# Cue statistics", "", "## Relative categories per attribute (paper Table II)", "",
             "| attribute | category | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    order = {c.name: (c.above, SIMILAR, c.below) for c in CONTINUOUS}
    for cue in [c for c in order if c in table2] + [c for c in DISCRETE if c in table2]:
        cats = order.get(cue, ("different", SAME))
        for cat in cats:
            lines.append(f"| {cue} | {cat} | " + " | ".join(str(table2[cue][(n, cat)]) for n in names) + " |")
    lines += ["", "## Prompts per cue type, similar/same excluded (paper Table III)", "",
              "| cue type | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for cue_type in CUE_TYPES:
        if cue_type in table3:
            lines.append(f"| {cue_type} | " + " | ".join(str(table3[cue_type][n]) for n in names) + " |")
    with atomic_open(args.out) as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"label": label, "report": report}, argv)


if __name__ == "__main__":
    sys.exit(main())
