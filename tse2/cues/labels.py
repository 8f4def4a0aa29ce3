"""Cue categories of a mixture's target against its interferer (paper II, SPEC "Cues").

Relative cues, continuous attributes: Δ = x_tar − x_inf (direct difference) or
(x_tar − x_inf) / min(x_tar, x_inf) × 100 % (percentage difference); the category is the
"above" word if Δ > θ, "similar" if |Δ| ≤ θ (so exactly θ is similar), the "below" word if Δ < −θ.
Relative cues, discrete attributes: "same" when target and interferer share the value, else the
target's value.  Independent cues: discrete, the target's value; continuous, equal-frequency bins
fitted on the training split (:class:`IndependentBins`); age and temporal order have none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

SIMILAR, SAME = "similar", "same"


@dataclass(frozen=True)
class ContinuousCue:
    name: str  # cue name used in prompts and reports
    field: str  # key in mixtures.jsonl's s1/s2 records
    difference: str  # "direct" or "percent"
    threshold: float
    above: str  # category when Δ > θ
    below: str  # category when Δ < −θ
    bins: Tuple[str, ...] = ()  # independent categories, low to high; () = no independent cue


CONTINUOUS: Tuple[ContinuousCue, ...] = (
    ContinuousCue("loudness", "rms_db", "direct", 3.0, "louder", "quieter", ("quiet", "normal", "loud")),
    ContinuousCue("distance", "distance", "direct", 0.5, "farther", "nearer", ("near", "far")),
    ContinuousCue("age", "age", "direct", 10.0, "older", "younger"),
    ContinuousCue("pitch", "f0_mean", "percent", 6.0, "higher", "lower", ("low", "normal", "high")),
    ContinuousCue("pitch range", "f0_span", "percent", 25.0, "wider", "narrower", ("narrow", "normal", "wide")),
    ContinuousCue("speaking rate", "speaking_rate", "percent", 15.0, "faster", "slower", ("slow", "normal", "fast")),
    ContinuousCue("speaking duration", "speaking_duration", "percent", 15.0, "longer", "shorter", ("short", "long")),
    # a later onset (Δ > θ) means the target starts second
    ContinuousCue("temporal order", "onset", "direct", 0.1, "second", "first"),
)
DISCRETE: Dict[str, str] = {"language": "lang", "transcription": "text", "gender": "gender", "emotion": "emotion"}
INDIVIDUAL_CUES: Tuple[str, ...] = ("language", "transcription", "gender", "emotion", "pitch", "pitch range",
                                    "loudness", "distance", "age", "temporal order", "speaking rate",
                                    "speaking duration")
CUE_TYPES: Tuple[str, ...] = INDIVIDUAL_CUES + ("random", "all")
BY_NAME = {c.name: c for c in CONTINUOUS}


def difference(cue: ContinuousCue, x_tar: float, x_inf: float) -> float:
    if cue.difference == "direct":
        return x_tar - x_inf
    low = min(x_tar, x_inf)
    if low <= 0:
        raise ValueError(f"{cue.name}: a percentage difference needs positive values, got {x_tar} and {x_inf}")
    return (x_tar - x_inf) / low * 100.0


def relative_category(cue: ContinuousCue, x_tar: float, x_inf: float) -> Tuple[str, float]:
    """(category, Δ); |Δ| ≤ θ (with a 1e-9 tolerance for rounding) is "similar"."""
    delta = difference(cue, x_tar, x_inf)
    if delta > cue.threshold + 1e-9:
        return cue.above, delta
    if delta < -cue.threshold - 1e-9:
        return cue.below, delta
    return SIMILAR, delta


class IndependentBins:
    """Equal-frequency bin edges per continuous cue, fitted on training values."""

    def __init__(self, edges: Mapping[str, Sequence[float]]) -> None:
        self.edges = {k: [float(e) for e in v] for k, v in edges.items()}

    @classmethod
    def fit(cls, values: Mapping[str, Iterable[float]]) -> "IndependentBins":
        edges = {}
        for name, vals in values.items():
            cue = BY_NAME[name]
            v = np.asarray([x for x in vals if x is not None], dtype=np.float64)
            if not cue.bins or v.size < len(cue.bins):
                continue
            qs = np.arange(1, len(cue.bins)) / len(cue.bins)
            edges[name] = np.quantile(v, qs).tolist()
        return cls(edges)

    def category(self, name: str, x: Optional[float]) -> Optional[str]:
        if x is None or name not in self.edges:
            return None
        k = int(np.searchsorted(self.edges[name], x, side="right"))
        return BY_NAME[name].bins[k]

    def save(self, path: Path) -> None:
        from tse2.utils.fileio import atomic_open

        with atomic_open(path) as f:
            json.dump({"edges": self.edges, "bins": {k: list(BY_NAME[k].bins) for k in self.edges}}, f, indent=1)

    @classmethod
    def load(cls, path: Path) -> "IndependentBins":
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: independent-cue bins are missing (fit them on the training set first)")
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(data["edges"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not an independent-cue bins file ({exc}); fit it again on the training "
                             "set (tse2.bin.make_prompts label --fit_bins)") from None


@dataclass(frozen=True)
class CueLabel:
    cue: str
    relative: str  # category; "similar"/"same" when not discriminative
    independent: Optional[str]  # None when the cue has no independent version
    delta: Optional[float]  # Δ for continuous cues
    interferer_independent: Optional[str] = None  # the interferer's independent category

    @property
    def discriminative(self) -> bool:
        return self.relative not in (SIMILAR, SAME)

    @property
    def independent_discriminative(self) -> bool:
        """The independent cue tells the two apart: they fall in different bins (paper: pairs in
        the same independent bin are excluded from the independent system's training)."""
        if self.independent is None:
            return False
        if self.interferer_independent is None:
            return self.discriminative
        return self.independent != self.interferer_independent


def label_mixture(row: Mapping, bins: Optional[IndependentBins] = None) -> Dict[str, CueLabel]:
    """Cue labels of one ``mixtures.jsonl`` row; cues whose values are unknown are left out."""
    tar, inf = (row["s1"], row["s2"]) if row["target"] == 1 else (row["s2"], row["s1"])
    out: Dict[str, CueLabel] = {}
    for name, key in DISCRETE.items():
        a, b = tar.get(key), inf.get(key)
        if a is None or b is None or a == "":
            continue
        out[name] = CueLabel(name, SAME if a == b else str(a), str(a), None, str(b))
    for cue in CONTINUOUS:
        a, b = tar.get(cue.field), inf.get(cue.field)
        if a is None or b is None:
            continue
        try:
            cat, delta = relative_category(cue, float(a), float(b))
        except ValueError:
            continue
        indep = bins.category(cue.name, float(a)) if bins is not None else None
        other = bins.category(cue.name, float(b)) if bins is not None else None
        out[cue.name] = CueLabel(cue.name, cat, indep, delta, other)
    return out


def fit_values(rows: Iterable[Mapping]) -> Dict[str, List[float]]:
    """Both speakers' values of every binned cue, for :meth:`IndependentBins.fit`."""
    values: Dict[str, List[float]] = {c.name: [] for c in CONTINUOUS if c.bins}
    for row in rows:
        for side in ("s1", "s2"):
            for name in values:
                x = row[side].get(BY_NAME[name].field)
                if x is not None:
                    values[name].append(float(x))
    return values
