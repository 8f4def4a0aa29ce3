"""Scoring expressive retrieval with the paper's protocol.

For every style, ``n_trials`` trials: one positive utterance of the style and ``n_distractors``
utterances of other styles (paper: 1000 trials of 1 + 400). The query is the style's prompt set
(every template x phrase of the part scored); each candidate's score is its mean cosine
similarity to those prompts, and the positive's rank gives Recall@k. When a collection has
fewer than ``n_distractors`` other-style utterances, every one of them is used, and the table
says how many there were.

Ties count against the positive (a candidate scored equal to it ranks above it), so a model that
scores everything the same gets Recall@1 = 0, never 1.
"""

from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

KS = (1, 5, 10, 20)
DURATION_BINS = ((0.0, 2.0), (2.0, 3.0), (3.0, 4.0), (4.0, float("inf")))


def sample_trials(styles: Sequence[str], style: str, n_trials: int, n_distractors: int, seed: int = 0
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """(positives (T,), distractors (T, D)): indices into ``styles``, deterministic in ``seed``.

    D is ``min(n_distractors, the number of other-style items)``.
    """
    labels = np.asarray(styles)
    pos = np.flatnonzero(labels == style)
    neg = np.flatnonzero(labels != style)
    if not len(pos):
        raise ValueError(f"no utterance of style {style!r} to score")
    d = min(n_distractors, len(neg))
    r = np.random.default_rng([seed, sum(map(ord, style))])
    positives = r.choice(pos, size=n_trials, replace=len(pos) < n_trials)
    distractors = np.stack([r.choice(neg, size=d, replace=False) for _ in range(n_trials)]) if d else \
        np.zeros((n_trials, 0), dtype=int)
    return positives, distractors


def ranks(scores: np.ndarray, positives: np.ndarray, distractors: np.ndarray) -> np.ndarray:
    """1-based rank of each trial's positive among itself and its distractors (ties rank above)."""
    s = np.asarray(scores, dtype=np.float64)
    return 1 + np.sum(s[distractors] >= s[positives][:, None], axis=1)


def recall_at(r: np.ndarray, ks: Sequence[int] = KS) -> Dict[int, float]:
    return {k: float(np.mean(np.asarray(r) <= k)) for k in ks}


def score_style_table(scores_per_style: Mapping[str, np.ndarray], styles: Sequence[str], n_trials: int = 1000,
                      n_distractors: int = 400, seed: int = 0, durations: Sequence[float] = ()
                      ) -> Dict[str, object]:
    """Recall@k per style and their mean; ``scores_per_style[s]`` scores every item for style s's query.

    With ``durations``, also Recall@1/5 of the positives per duration bin (the paper's Fig. 3).
    """
    per: Dict[str, Dict[int, float]] = {}
    all_ranks, all_pos = [], []
    d_used = None
    for style in scores_per_style:
        pos, dis = sample_trials(styles, style, n_trials, n_distractors, seed)
        d_used = dis.shape[1] if d_used is None else min(d_used, dis.shape[1])
        r = ranks(scores_per_style[style], pos, dis)
        per[style] = recall_at(r)
        all_ranks.append(r)
        all_pos.append(pos)
    mean = {k: float(np.mean([per[s][k] for s in per])) for k in KS}
    out: Dict[str, object] = {"per_style": per, "mean": mean, "distractors": d_used, "trials": n_trials}
    if len(durations):
        dur = np.asarray(durations)[np.concatenate(all_pos)]
        rr = np.concatenate(all_ranks)
        out["duration"] = {f"{lo:g}-{hi:g} s" if hi < float("inf") else f">{lo:g} s":
                           dict(recall_at(rr[(dur >= lo) & (dur < hi)], (1, 5)), n=int(np.sum((dur >= lo) & (dur < hi))))
                           for lo, hi in DURATION_BINS if np.any((dur >= lo) & (dur < hi))}
    return out


def single_query_recall(scores_per_query: Mapping[str, Sequence[np.ndarray]], styles: Sequence[str],
                        n_trials: int = 1000, n_distractors: int = 400, seed: int = 0) -> Dict[str, object]:
    """Recall@k of each query on its own (a user types one sentence), averaged over a style's
    queries, then over styles; ``scores_per_query[s]`` holds one score vector per query of style s.
    The trials are those of :func:`score_style_table` (same seed: the same positives and distractors)."""
    per: Dict[str, Dict[int, float]] = {}
    for style, query_scores in scores_per_query.items():
        pos, dis = sample_trials(styles, style, n_trials, n_distractors, seed)
        recalls = [recall_at(ranks(q, pos, dis)) for q in query_scores]
        per[style] = {k: float(np.mean([r[k] for r in recalls])) for k in KS}
    return {"per_style": per, "mean": {k: float(np.mean([per[s][k] for s in per])) for k in KS},
            "queries": {s: len(q) for s, q in scores_per_query.items()}}


def markdown_table(results: Mapping[str, Mapping[str, object]]) -> List[str]:
    """Per-style Recall@1/5/10/20, one column group per system (e.g. train / held-out / classifier);
    a system without queries for a style shows "–" there (its mean is over its own styles)."""
    names = list(results)
    styles = list(dict.fromkeys(s for r in results.values() for s in r["per_style"]))
    head = "| style | " + " | ".join(f"{n} R@{k}" for n in names for k in KS) + " |"
    lines = [head, "|---|" + "---|" * (len(names) * len(KS))]
    for s in styles + ["**mean**"]:
        cells = []
        for n in names:
            row = results[n]["mean"] if s == "**mean**" else results[n]["per_style"].get(s)
            cells += [f"{row[k]:.3f}" for k in KS] if row is not None else ["–"] * len(KS)
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return lines
