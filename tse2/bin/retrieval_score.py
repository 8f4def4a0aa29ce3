"""Score expressive retrieval with the paper's protocol, and write the recipe's RESULTS.md.

  python -m tse2.bin.retrieval_score score --model_dir exp/ret_x --index exp/ret_x/index_test \\
      --utt2style dump/ret/test/utt2style [--utt2dur data/test/utt2dur] --out exp/ret_x/score_test
  python -m tse2.bin.retrieval_score separability --train dump/ret/train --test dump/ret/test --out exp/separability
  python -m tse2.bin.retrieval_score report --score exp/ret_x/score_test [--score ...] \\
      [--separability exp/separability] [--queries exp/ret_x/score_test/queries.md] --out exp/results_ret/RESULTS.md

``score`` writes ``results.json`` and ``tables.md``: Recall@1/5/10/20 per style for queries from
the training phrasings, from the held-out phrasings, and the classification baseline (the
auxiliary classifier's logit for the style); the duration bins; ``n_trials`` trials of one positive
and ``n_distractors`` distractors (fewer when the collection has fewer, as the table says).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from tse2.utils.cli import run_tool, tool_parser, write_markdown
from tse2.utils.fileio import atomic_open


def get_parser() -> argparse.ArgumentParser:
    parser, sub = tool_parser(__doc__)
    s = sub.add_parser("score", help="Recall@k of one model on one embedded set")
    s.add_argument("--model_dir", required=True)
    s.add_argument("--model_file", default=None)
    s.add_argument("--index", required=True)
    s.add_argument("--utt2style", type=Path, required=True)
    s.add_argument("--utt2dur", type=Path, default=None)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--n_trials", type=int, default=1000)
    s.add_argument("--n_distractors", type=int, default=400)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--example_queries", action="append", default=[], help="user phrasings shown with their top 5")
    p = sub.add_parser("separability", help="a logistic regression on acoustic features, train -> test")
    p.add_argument("--train", type=Path, required=True, help="a prepared set (wav.scp, utt2style)")
    p.add_argument("--test", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("report", help="RESULTS.md from score (and separability) dirs")
    r.add_argument("--score", type=Path, action="append", required=True, help="a score dir; repeat for ablations")
    r.add_argument("--separability", type=Path, default=None)
    r.add_argument("--out", type=Path, required=True)
    return parser


def score(args) -> int:
    from tse2.cues.styles import StyleVocab
    from tse2.inference.retrieval import StyleIndex, StyleRetrieval
    from tse2.cues.handwritten import read_retrieval
    from tse2.cues.variety import has_words, heldout_style_queries
    from tse2.scoring.retrieval import KS, markdown_table, score_style_table, single_query_recall
    from tse2.utils.datadir import read_map

    runtime = StyleRetrieval.from_pretrained(args.model_dir, args.model_file)
    index = StyleIndex.load(args.index)
    table = read_map(args.utt2style)
    missing = [k for k in index.keys if k not in table]
    if missing:
        raise ValueError(f"{args.utt2style}: no style for {len(missing)} indexed item(s), e.g. {missing[0]}")
    labels = [table[k] for k in index.keys]
    present = [s for s in runtime.styles if s in set(labels)]
    unknown = sorted(set(labels) - set(runtime.styles))
    if unknown:
        raise ValueError(f"{args.utt2style}: styles {unknown} are not among the model's ({runtime.styles})")
    vocab = StyleVocab.load(runtime.styles, getattr(runtime.args, "style_vocab", None))
    durations = ()
    if args.utt2dur is not None:
        dur = read_map(args.utt2dur)
        durations = [float(dur[k]) for k in index.keys]
    results, single = {}, {}
    hand = read_retrieval()  # the hand-written test queries (tse2/cues/handwritten/retrieval.txt)
    phrasings = {"train phrasings": {s: vocab.prompts(s, "train") for s in present},
                 "held-out phrasings": {s: vocab.prompts(s, "heldout") for s in present},
                 "held-out grammar": {s: heldout_style_queries(s, vocab.phrases) for s in present if has_words(s)},
                 "hand-written queries": {s: hand[s] for s in present if s in hand}}
    for name, queries in phrasings.items():
        if not queries:
            continue
        emb = {s: runtime.embed_text(list(q)) for s, q in queries.items()}  # each query set embedded once
        # the paper's protocol: a style's queries averaged (StyleRetrieval.scores); then each query alone
        scores = {s: index.unit @ e.mean(axis=0) for s, e in emb.items()}
        results[name] = score_style_table(scores, labels, args.n_trials, args.n_distractors, args.seed, durations)
        single[name] = single_query_recall({s: list((index.unit @ e.T).T) for s, e in emb.items()}, labels,
                                           args.n_trials, args.n_distractors, args.seed)
    if runtime.model.classifier is not None:
        logits = runtime.class_scores(index)
        scores = {s: logits[:, runtime.styles.index(s)] for s in present}
        results["classifier"] = score_style_table(scores, labels, args.n_trials, args.n_distractors, args.seed)
    d = results["train phrasings"]["distractors"]
    lines = [f"{len(index.keys)} utterances, {len(present)} styles; {args.n_trials} trials per style of 1 positive + "
             f"{d} distractors" + (f" (fewer than {args.n_distractors}: the collection has no more)"
                                   if d < args.n_distractors else "") + ".", ""]
    lines += markdown_table(results)
    lines += ["", "One query at a time (a user types one sentence; the table above averages each style's "
              "query embeddings, the paper's protocol), Recall@k averaged over queries, then styles:", "",
              "| queries | styles | queries per style | R@1 | R@5 | R@10 |", "|---|---|---|---|---|---|"]
    for n, r in single.items():
        counts = sorted(set(r["queries"].values()))
        span = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        lines.append(f"| {n} | {len(r['per_style'])} | {span} | {r['mean'][1]:.3f} | {r['mean'][5]:.3f} "
                     f"| {r['mean'][10]:.3f} |")
    if durations:
        lines += ["", "Recall by the positive's duration (train phrasings):", "", "| duration | trials | R@1 | R@5 |",
                  "|---|---|---|---|"]
        for b, v in results["train phrasings"]["duration"].items():
            lines.append(f"| {b} | {v['n']} | {v[1]:.3f} | {v[5]:.3f} |")
    if args.example_queries:
        lines += ["", "Queries in a user's own words, top 5 (key: its true style):", ""]
        for q in args.example_queries:
            top = runtime.search(index, q, 5).hits
            lines.append(f"- *{q}*: " + ", ".join(f"{k} (**{table[k]}**, {s:.3f})" for k, s in top))
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out / "results.json") as f:
        json.dump({**{n: {"mean": r["mean"], "per_style": r["per_style"], "distractors": r["distractors"]}
                      for n, r in results.items()},
                   **{f"{n}, one at a time": {"mean": r["mean"], "per_style": r["per_style"]} for n, r in single.items()}},
                  f, indent=1, default=str)
    write_markdown(args.out / "tables.md", lines)
    for n, r in results.items():
        print(f"{n}: " + " ".join(f"R@{k} {r['mean'][k]:.3f}" for k in KS))
    return 0


def separability(args) -> int:
    from tse2.inference.retrieval import MIN_SECONDS
    from tse2.scoring.separability import confusion_markdown, features
    from tse2.scoring.separability import separability as fit
    from tse2.utils.audio import DEFAULT_FS, read_for_model
    from tse2.utils.datadir import read_map

    def load(d: Path):  # the acoustic features are measured at the recipes' rate, whatever the data's
        wavs, styles = read_map(d / "wav.scp"), read_map(d / "utt2style")
        keys = sorted(wavs)
        audio = (read_for_model(wavs[k], DEFAULT_FS, min_seconds=MIN_SECONDS) for k in keys)
        return np.stack([features(a, DEFAULT_FS) for a in audio]), [styles[k] for k in keys]

    res = fit(*load(args.train), *load(args.test))
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out / "separability.json") as f:
        json.dump(res, f, indent=1)
    lines = confusion_markdown(res)
    write_markdown(args.out / "separability.md", lines)
    return 0


def report(args) -> int:
    lines = ["# Expressive speech retrieval: results", "",
             "Regenerated by `retrieval.sh` stage 5 (`tse2.bin.retrieval_score report`). Recall@k averaged over "
             "styles, the paper's protocol (`tse2/scoring/retrieval.py`).", ""]
    summary = ["| model | set | queries | R@1 | R@5 | R@10 | R@20 |", "|---|---|---|---|---|---|---|"]
    for d in args.score:  # <exp>/score_<set>: a model's rows of two sets must say which set they are
        res = json.loads((d / "results.json").read_text())
        test_set = d.name[len("score_"):] if d.name.startswith("score_") else d.name
        for name, r in res.items():
            m = r["mean"]
            summary.append(f"| {d.parent.name} | {test_set} | {name} | "
                           + " | ".join(f"{m[str(k)]:.3f}" for k in (1, 5, 10, 20)) + " |")
    lines += ["## Summary", ""] + summary
    for d in args.score:
        lines += ["", f"## {d.parent.name} ({d.name})", ""] + (d / "tables.md").read_text().splitlines()
    if args.separability is not None:
        lines += ["", "## Are the styles separable? (test set)", ""]
        lines += (args.separability / "separability.md").read_text().splitlines()
    write_markdown(args.out, lines)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return run_tool(get_parser(), {"score": score, "separability": separability, "report": report}, argv)


if __name__ == "__main__":
    sys.exit(main())
