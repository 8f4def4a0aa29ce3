"""Stage-9 figures (matplotlib, PNG), after the paper's Figs. 4, 6 and 7.

- :func:`accuracy_vs_difference` (Fig. 4): per continuous cue, correct/incorrect against |Δ|
  (the relative difference between target and interferer), binned accuracy, and a
  logistic-regression curve (scikit-learn) for a smooth estimate; θ marked.
- :func:`condition_bars` (Fig. 6): per paired cue, accuracy in the same/adjacent/distinct
  independent conditions, independent classifier on all pairs vs relative classifier on the
  non-similar pairs, N on each bar.
- :func:`joint_scatter` (Fig. 7): per paired cue, target value against interferer value, correct
  and incorrect examples, with the ±θ "similar" band shaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tse2.cues.labels import BY_NAME
from tse2.scoring.tables import Example, Group
from tse2.utils.fileio import atomic_path

VALUE_UNITS = {"loudness": "dB", "distance": "m", "age": "years", "temporal order": "s", "pitch": "Hz",
               "pitch range": "Hz", "speaking rate": "syllables/min", "speaking duration": "s"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grid(n: int, ncols: int = 3):
    plt = _pyplot()
    ncols = max(1, min(ncols, n))
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _save(fig, path: Path) -> None:
    plt = _pyplot()
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def unit(cue: str) -> str:
    """Unit of the difference Δ of a cue."""
    return "%" if BY_NAME[cue].difference == "percent" else VALUE_UNITS.get(cue, "")


def logistic_curve(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> Optional[np.ndarray]:
    """P(correct | |Δ|) from a logistic regression on |Δ|; None when only one class occurs."""
    if len(set(y.tolist())) < 2:
        return None
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(x[:, None], y)
    return model.predict_proba(grid[:, None])[:, 1]


def accuracy_vs_difference(points: Mapping[str, Sequence[Tuple[float, bool]]], path: Path, title: str) -> None:
    """``points``: cue → [(Δ, correct)] of the relative prompts of that cue (similar ones included)."""
    cues = [c for c in points if points[c]]
    fig, axes = _grid(len(cues))
    for ax, cue in zip(axes, cues):
        d = np.abs(np.array([p[0] for p in points[cue]], dtype=float))
        y = np.array([int(p[1]) for p in points[cue]])
        ax.scatter(d, y + np.random.default_rng(0).uniform(-0.03, 0.03, len(y)), s=6, alpha=0.3, color="gray")
        edges = np.unique(np.quantile(d, np.linspace(0, 1, 6)))
        if len(edges) > 1:
            k = np.clip(np.searchsorted(edges, d, side="right") - 1, 0, len(edges) - 2)
            centers = [(d[k == i].mean(), y[k == i].mean()) for i in range(len(edges) - 1) if np.any(k == i)]
            ax.plot(*zip(*centers), "o", color="C0", label="binned accuracy")
        grid = np.linspace(0, d.max() if d.size else 1.0, 100)
        curve = logistic_curve(d, y, grid)
        if curve is not None:
            ax.plot(grid, curve, color="C3", label="logistic regression")
        ax.axvline(BY_NAME[cue].threshold, color="k", ls=":", lw=1, label="θ")
        ax.set_ylim(-0.08, 1.08)
        ax.set_title(f"{cue} (N={len(y)}, acc {100 * y.mean():.0f} %)", fontsize=9)
        ax.set_xlabel(f"|Δ| ({unit(cue)})", fontsize=8)
        ax.set_ylabel("correct", fontsize=8)
    if cues:
        axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def condition_bars(breakdown: Mapping[str, Mapping[str, Tuple[Group, Group]]], path: Path, title: str) -> None:
    """``breakdown``: cue → condition → (independent all, relative non-similar)."""
    cues = [c for c in breakdown if breakdown[c]]
    fig, axes = _grid(len(cues))
    for ax, cue in zip(axes, cues):
        conds = list(breakdown[cue])
        x = np.arange(len(conds))
        for j, (label, color) in enumerate((("independent, all", "C0"), ("relative, non-similar", "C1"))):
            groups = [breakdown[cue][c][j] for c in conds]
            acc = [100 * (g.acc or 0.0) for g in groups]
            bars = ax.bar(x + (j - 0.5) * 0.38, acc, 0.38, label=label, color=color)
            for b, g in zip(bars, groups):
                ax.annotate(f"{b.get_height():.0f}%\n({g.n})", (b.get_x() + b.get_width() / 2, b.get_height()),
                            ha="center", va="bottom", fontsize=6)
        ax.set_xticks(x, conds, fontsize=8)
        ax.set_ylim(0, 125)
        ax.set_title(cue, fontsize=9)
        ax.set_ylabel("accuracy (%)", fontsize=8)
    if cues:
        fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def _similar_band(ax, cue: str, lo: float, hi: float) -> None:
    c = BY_NAME[cue]
    x = np.linspace(lo, hi, 200)
    if c.difference == "direct":
        low, high = x - c.threshold, x + c.threshold
    else:  # |x_tar − x_inf| / min(x_tar, x_inf) ≤ θ %
        r = 1 + c.threshold / 100
        low, high = x / r, x * r
    ax.fill_between(x, low, high, color="0.85", zorder=0, label=f"|Δ| ≤ θ ({c.threshold:g} {unit(cue)})")


def joint_scatter(points: Mapping[str, Mapping[str, Sequence[Tuple[float, float, bool]]]], path: Path,
                  title: str) -> None:
    """``points``: cue → kind ("independent"/"relative") → [(x_interferer, x_target, correct)]."""
    panels = [(cue, kind) for cue in points for kind in ("independent", "relative") if points[cue].get(kind)]
    both = len({k for _, k in panels}) == 2
    fig, axes = _grid(len(panels), ncols=2 if both else 3)
    for ax, (cue, kind) in zip(axes, panels):
        pts = np.array(points[cue][kind], dtype=float).reshape(-1, 3)
        lo, hi = float(pts[:, :2].min()), float(pts[:, :2].max())
        _similar_band(ax, cue, lo, hi)
        ok = pts[:, 2] > 0.5
        ax.scatter(pts[ok, 0], pts[ok, 1], s=8, color="C3", label="correct")
        ax.scatter(pts[~ok, 0], pts[~ok, 1], s=8, color="C0", label="incorrect")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_title(f"{cue}, {kind} cue (acc {100 * ok.mean():.0f} %, N={len(pts)})", fontsize=9)
        ax.set_xlabel(f"interferer {cue} ({VALUE_UNITS.get(cue, '')})", fontsize=8)
        ax.set_ylabel(f"target {cue} ({VALUE_UNITS.get(cue, '')})", fontsize=8)
    if panels:
        axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def delta_points(examples: Sequence[Example], deltas: Mapping[Tuple[str, str], Optional[float]]
                 ) -> Dict[str, List[Tuple[float, bool]]]:
    """cue → [(Δ, correct)] for the relative single-cue examples whose Δ is known."""
    out: Dict[str, List[Tuple[float, bool]]] = {}
    for e in examples:
        if e.kind == "relative" and e.cue_type in BY_NAME:
            d = deltas.get((e.mix, e.cue_type))
            if d is not None:
                out.setdefault(e.cue_type, []).append((float(d), e.correct))
    return out


def remix_spectrograms(rows: Sequence[Tuple[str, Sequence[Tuple[str, np.ndarray]]]], fs: int, path: Path) -> None:
    """The remix paper's Fig. 2 layout: one row per example (its prompt as the title), the
    unprocessed, remixed and target log-mel spectrograms side by side, on one colour scale."""
    import librosa

    plt = _pyplot()
    ncols = max(len(panels) for _, panels in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(4.2 * ncols, 2.6 * len(rows)), squeeze=False)
    for r, (title, panels) in enumerate(rows):
        ref = max(float(np.max(np.abs(x))) for _, x in panels) or 1.0
        for c, (name, x) in enumerate(panels):
            mel = librosa.feature.melspectrogram(y=np.asarray(x, dtype=np.float32) / ref, sr=fs, n_fft=512,
                                                 hop_length=128, n_mels=64)
            ax = axes[r, c]
            ax.imshow(10 * np.log10(mel + 1e-8), origin="lower", aspect="auto", vmin=-80, vmax=10,
                      extent=(0, len(x) / fs, 0, 64), cmap="magma")
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("s", fontsize=8)
            ax.set_yticks([])
        axes[r, 0].set_ylabel("mel", fontsize=8)
        ann = axes[r, 0].annotate(title, (0, 1.2), xycoords="axes fraction", fontsize=10, fontweight="bold",
                                  annotation_clip=False)
        ann.set_in_layout(False)  # a long prompt must not squeeze the panels
    fig.tight_layout(h_pad=3.6)
    _save(fig, path)
