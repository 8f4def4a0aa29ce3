"""Cue labels: thresholds (exactly θ is similar), directions, discrete same, equal-frequency bins."""

from __future__ import annotations

import numpy as np
import pytest

from tse2.cues.labels import BY_NAME, IndependentBins, fit_values, label_mixture, relative_category


@pytest.mark.parametrize("cue,tar,inf,expected", [
    ("loudness", -20.0, -23.0, "similar"),       # Δ = 3 dB exactly: similar
    ("loudness", -19.99, -23.0, "louder"),
    ("loudness", -23.0, -20.0, "similar"),
    ("loudness", -23.01, -20.0, "quieter"),
    ("distance", 1.3, 0.8, "similar"),          # 0.5 m exactly
    ("distance", 1.31, 0.8, "farther"),
    ("age", 30, 40, "similar"),
    ("age", 29, 40, "younger"),
    ("pitch", 106.0, 100.0, "similar"),          # +6 % of the smaller value exactly
    ("pitch", 106.1, 100.0, "higher"),
    ("pitch", 100.0, 106.0, "similar"),          # −6 %: (100 − 106) / 100
    ("pitch", 100.0, 106.1, "lower"),
    ("pitch range", 125.0, 100.0, "similar"),
    ("pitch range", 100.0, 125.5, "narrower"),
    ("speaking rate", 230.0, 200.0, "similar"),
    ("speaking rate", 230.5, 200.0, "faster"),
    ("speaking duration", 2.0, 2.31, "shorter"),
    ("temporal order", 1.0, 0.0, "second"),       # the target starts later
    ("temporal order", 0.0, 1.0, "first"),
    ("temporal order", 0.5, 0.4, "similar"),
])
def test_relative_categories(cue, tar, inf, expected):
    assert relative_category(BY_NAME[cue], tar, inf)[0] == expected


def test_percentage_needs_positive_values():
    with pytest.raises(ValueError, match="positive values"):
        relative_category(BY_NAME["pitch"], 0.0, 100.0)


def test_equal_frequency_bins_are_balanced_on_the_fit_data():
    rng = np.random.default_rng(0)
    values = {"pitch": rng.lognormal(5, 0.4, 3000).tolist(), "distance": rng.uniform(0.3, 1.5, 3000).tolist()}
    bins = IndependentBins.fit(values)
    for name, vals in values.items():
        counts = np.unique([bins.category(name, v) for v in vals], return_counts=True)[1]
        assert len(counts) == len(BY_NAME[name].bins)
        assert counts.max() - counts.min() <= 2
    assert bins.category("pitch", 1e-3) == "low" and bins.category("pitch", 1e6) == "high"
    assert bins.category("age", 40) is None  # age has no independent cue


def _row(target=1, **over):
    s1 = {"lang": "en", "text": "hello", "gender": "f", "emotion": "happy", "rms_db": -20.0, "distance": 0.5,
          "age": 30, "f0_mean": 200.0, "f0_span": 60.0, "speaking_rate": 300.0, "speaking_duration": 3.0, "onset": 0.0}
    s2 = {"lang": "de", "text": "hallo", "gender": "f", "emotion": "sad", "rms_db": -25.0, "distance": 1.2,
          "age": None, "f0_mean": 120.0, "f0_span": 50.0, "speaking_rate": 250.0, "speaking_duration": 4.0, "onset": 1.0}
    s1.update(over)
    return {"mix": "m1", "target": target, "s1": s1, "s2": s2}


def test_label_mixture():
    labels = label_mixture(_row())
    assert labels["gender"].relative == "same" and labels["gender"].independent == "f"
    assert labels["language"].relative == "en" and labels["emotion"].relative == "happy"
    assert labels["pitch"].relative == "higher" and labels["loudness"].relative == "louder"
    assert labels["distance"].relative == "nearer" and labels["temporal order"].relative == "first"
    assert "age" not in labels  # unknown for the interferer
    flipped = label_mixture(_row(target=2))
    assert flipped["pitch"].relative == "lower" and flipped["temporal order"].relative == "second"
    assert flipped["language"].relative == "de"
    values = fit_values([_row()])
    assert sorted(values["pitch"]) == [120.0, 200.0]  # both speakers
