"""Stage 8: run a trained classifier on (mixture, cue) examples and select the target candidate.

  python -m tse2.bin.cls_inference run --model_dir exp/cls_x_text --data_dir dump/cls/sep_x/dev_text \\
      --key_file split/keys.1 --out split/sel.1.jsonl [--ngpu 0]
  python -m tse2.bin.cls_inference merge --data_dir dump/cls/sep_x/dev_text --out_dir exp/cls_x_text/infer_dev \\
      split/sel.*.jsonl
  python -m tse2.bin.cls_inference report --out exp/cls_x_text/RESULTS_classifier.md exp/cls_x_text/infer_*

``run`` writes one row per example: both candidates' scores (``score1``, ``score2``: cosine
similarities to the prompt or enrollment) and the selected candidate (1 or 2, the higher score).  ``merge`` joins them (or the parts of ``tse2.bin.select_attributes``) with the example list
(``examples.jsonl`` of ``tse2.bin.cls_data``) into ``selections.jsonl`` (adds mix, cue_type, kind,
similar, label, correct) and ``summary.json``: accuracy per cue type over the examples whose cue is
not similar/same (the paper's first evaluation) and over all of them; examples a selector abstained
on are left out.  ``report`` tabulates several sets.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from tse2.inference import ClassifierSelector
from tse2.utils.cli import (add_merge_and_report, add_run_parser, merge_parts, run_tool, tool_parser,
                            write_markdown)
from tse2.utils.fileio import atomic_open, read_jsonl

log = logging.getLogger("cls_inference")


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    r = add_run_parser(sub, "similarities and selections for one part of the examples", 7,
                       examples="the model's cue: text or enrollment")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--batch_size", type=int, default=8)
    add_merge_and_report(sub, "--data_dir", "join the parts with the example list; accuracy per cue type",
                         "one markdown table (accuracy per cue type) over several sets")
    return parser


def run(args) -> int:
    selector = ClassifierSelector.from_pretrained(args.model_dir, args.model_file, "cuda" if args.ngpu > 0 else "cpu")
    rows = []
    for keys, batch in selector.batches(args.data_dir, args.key_file, args.batch_size):
        sim1, sim2 = selector.similarities(batch)
        for k, s1, s2 in zip(keys, sim1, sim2):
            rows.append({"id": k, "score1": round(s1, 6), "score2": round(s2, 6), "selected": 1 if s1 >= s2 else 2})
    with atomic_open(args.out) as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    log.info("%d examples of %s scored with %s", len(rows), args.data_dir, selector.model_file)
    return 0


def accuracy_table(rows: List[Dict]) -> Dict[str, Dict]:
    """Per cue type (and overall): N and accuracy over non-similar examples and over all."""
    out: Dict[str, Dict] = {}
    groups: Dict[str, List[Dict]] = {}
    rows = [r for r in rows if not r.get("abstain")]  # prompts a selector could not decide
    for r in rows:
        groups.setdefault(r["cue_type"], []).append(r)
    groups["overall"] = rows
    for cue, rs in groups.items():
        dist = [r for r in rs if not r["similar"]]
        out[cue] = {"n": len(dist), "acc": float(np.mean([r["correct"] for r in dist])) if dist else None,
                    "n_all": len(rs), "acc_all": float(np.mean([r["correct"] for r in rs]))}
    return out


def merge(args) -> int:
    examples = {e["id"]: e for e in read_jsonl(args.data_dir / "examples.jsonl", "run tse2.bin.cls_data")}
    scored = merge_parts(args.parts, examples, "id", "scored", args.data_dir, what="example")
    rows = []
    for key, s in scored.items():
        e = examples[key]
        correct = (s["selected"] == 1) == (e["label"] == 1)
        extra = {k: v for k, v in s.items() if k != "id"}  # score1 score2 selected (+ abstain: attribute selector)
        rows.append({**e, **extra, "correct": bool(correct)})
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out_dir / "selections.jsonl") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    labels = [r["label"] for r in rows if "label" in r]
    summary = {"examples": len(rows), "data_dir": str(args.data_dir), "per_cue": accuracy_table(rows),
               "label1_share": float(np.mean([x == 1 for x in labels])) if labels else None}
    with atomic_open(args.out_dir / "summary.json") as f:
        json.dump(summary, f, indent=1)
    o = summary["per_cue"]["overall"]
    log.info("%s: accuracy %.1f %% over %d examples (non-similar)", args.out_dir,
             100 * (o["acc"] or 0.0), o["n"])
    return 0


def _pct(x: Optional[float]) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


DEGENERATE = 0.95  # one label this often: accuracy measures the label balance, not the classifier


def label_warnings(summaries) -> List[str]:
    """One line per evaluation set whose labels are (nearly) all one class, e.g. the outputs of a
    separator that does not separate, where "the output nearer the target" is always output 1."""
    out = []
    for d, s in summaries:
        share = s.get("label1_share")
        if share is None or s.get("examples", 0) < 20:
            continue
        top = max(share, 1.0 - share)
        if top >= DEGENERATE:
            out.append(f"{d.name}: {100 * top:.1f} % of the {s['examples']} examples have label "
                       f"{1 if share >= 0.5 else 0} (the target is always candidate {1 if share >= 0.5 else 2}), "
                       "so the accuracy reflects the label balance, not the cue. If these are separated "
                       "outputs, check the separator's SI-SDRi (stage 6).")
    return out


def report(args) -> int:
    summaries = []
    for d in args.out_dirs:
        f = d / "summary.json"
        if not f.is_file():
            raise FileNotFoundError(f"{f} is missing: run cls_inference merge for {d}")
        summaries.append((d, json.loads(f.read_text(encoding="utf-8"))))
    cues = []
    for _, s in summaries:
        cues += [c for c in s["per_cue"] if c not in cues and c != "overall"]
    cues.append("overall")
    head = " | ".join(f"{d.name.removeprefix('infer_')} N | ACC" for d, _ in summaries)
    lines = [f"# Classifier accuracy ({args.out.parent.name})", ""]
    for w in label_warnings(summaries):
        log.warning("%s", w)
        lines += [f"**Warning:** {w}", ""]
    lines += ["Examples whose cue is not similar/same (the paper's first evaluation).", "",
              f"| cue type | {head} |", "|---|" + "---|---|" * len(summaries)]
    for c in cues:
        cells = []
        for _, s in summaries:
            e = s["per_cue"].get(c)
            cells += ["–", "–"] if e is None else [str(e["n"]), _pct(e["acc"])]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    write_markdown(args.out, lines)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"run": run, "merge": merge, "report": report}, argv)


if __name__ == "__main__":
    sys.exit(main())
