"""Per-cue aggregation of hand-made selections (paper Tables IV-VI, Fig. 6)."""

from __future__ import annotations

import pytest

from tse2.cues.labels import IndependentBins
from tse2.scoring.tables import (Example, absolute_condition, by_cue, condition_breakdown, oracle_selection,
                                 per_mixture_by_cue, relative_vs_independent, scored_examples)

METRICS = {  # per mixture: SI-SDR of sep1, sep2 and the mixture against the target; PESQ of sep1, sep2
    "m1": {"sisdr": [10.0, -8.0], "sisdr_mix": 1.0, "pesq": [3.0, 1.2], "pesq_error": [None, None]},
    "m2": {"sisdr": [-6.0, 8.0], "sisdr_mix": -2.0, "pesq": [1.1, None], "pesq_error": [None, "NoUtterancesError"]},
    "m3": {"sisdr": [5.0, -5.0], "sisdr_mix": 0.0, "pesq": [2.5, 1.5], "pesq_error": [None, None]},
}


def sel(id_, mix, cue, selected, correct, similar=False, kind="relative"):
    return {"id": id_, "mix": mix, "cue_type": cue, "kind": kind, "similar": similar, "selected": selected,
            "correct": correct}


SELECTIONS = [
    sel("m1_pitch", "m1", "pitch", 1, True),
    sel("m2_pitch", "m2", "pitch", 1, False),
    sel("m3_pitch", "m3", "pitch", 1, True, similar=True),  # similar: out of the first evaluation
    sel("m1_gender", "m1", "gender", 2, False),
    sel("m2_gender", "m2", "gender", 2, True),
]


def test_per_cue_groups_count_accuracy_and_selected_output_metrics():
    groups = by_cue(scored_examples(SELECTIONS, METRICS))
    assert list(groups) == ["gender", "pitch", "overall"]  # the paper's cue order, then overall
    p = groups["pitch"]
    assert (p.n, p.acc) == (2, 0.5)
    assert p.sisdri == pytest.approx(((10 - 1) + (-6 + 2)) / 2)
    assert p.pesq == pytest.approx((3.0 + 1.1) / 2) and p.pesq_failed == 0
    g = groups["gender"]  # m2 selected output 2, whose PESQ failed: counted, not averaged
    assert g.pesq == pytest.approx(1.2) and g.pesq_failed == 1 and g.pesq_errors == ["NoUtterancesError"]
    o = groups["overall"]
    assert (o.n, o.acc) == (4, 0.5)
    assert by_cue(scored_examples(SELECTIONS, METRICS), include_similar=True)["pitch"].n == 3


def test_clean_systems_have_accuracy_only_and_missing_metrics_are_an_error():
    g = by_cue(scored_examples(SELECTIONS, None))["overall"]
    assert g.acc == 0.5 and g.sisdri is None and g.pesq is None
    with pytest.raises(KeyError, match="mixture m3 of example m3_pitch has no signal metrics"):
        scored_examples(SELECTIONS, {k: v for k, v in METRICS.items() if k != "m3"})


def test_enrollment_is_scored_on_each_cue_types_mixtures():
    enroll = scored_examples([sel(m, m, "enrollment", 1, m != "m2", kind="enrollment") for m in METRICS], METRICS)
    text = scored_examples(SELECTIONS, METRICS)
    groups = per_mixture_by_cue(enroll, text)
    assert groups["pitch"].n == 2 and groups["pitch"].acc == 0.5  # m1, m2 (m3's pitch prompt is similar)
    assert groups["gender"].n == 2 and groups["overall"].n == 4  # one row per text prompt


def test_oracle_selection_takes_the_better_output():
    g = oracle_selection(METRICS)
    assert g.sisdri == pytest.approx(((10 - 1) + (8 + 2) + 5) / 3) and g.acc == 1.0 and g.pesq_failed == 1


def test_absolute_conditions_of_three_and_two_bin_cues():
    bins = IndependentBins({"speaking rate": [200.0, 300.0], "distance": [1.0]})
    assert absolute_condition(bins, "speaking rate", 150, 180) == "same"
    assert absolute_condition(bins, "speaking rate", 150, 250) == "adjacent"
    assert absolute_condition(bins, "speaking rate", 350, 150) == "distinct"
    assert absolute_condition(bins, "distance", 0.5, 1.5) == "distinct"
    assert absolute_condition(bins, "pitch", 100, 200) is None  # no bins fitted


def test_relative_vs_independent_groups():
    cond = {("m1", "pitch"): "same", ("m2", "pitch"): "adjacent", ("m3", "pitch"): "distinct"}
    rel = scored_examples([sel("m1_r", "m1", "pitch", 1, True, similar=True),
                           sel("m2_r", "m2", "pitch", 2, True), sel("m3_r", "m3", "pitch", 1, True)], METRICS)
    ind = scored_examples([sel("m1_i", "m1", "pitch", 2, False, kind="independent"),
                           sel("m2_i", "m2", "pitch", 2, True, kind="independent"),
                           sel("m3_i", "m3", "pitch", 2, False, kind="independent")], METRICS)
    t = relative_vs_independent(rel, ind, cond)
    i, r = t["pitch"]["distinct"]  # independent non-same (m2, m3) vs relative non-similar (m2, m3)
    assert (i.n, i.acc, r.n, r.acc) == (2, 0.5, 2, 1.0)
    i, r = t["pitch"]["indistinct"]
    assert (i.n, i.acc, r.n, r.acc) == (1, 0.0, 1, 1.0)
    assert t["overall"]["all"][0].n == 3
    b = condition_breakdown(rel, ind, cond, "pitch")
    assert list(b) == ["same", "adjacent", "distinct"]
    assert (b["same"][0].n, b["same"][1].n) == (1, 0)  # the relative prompt of m1 is similar
    assert b["distinct"][0].acc == 0.0 and b["distinct"][1].acc == 1.0


def test_example_defaults():
    e = Example(id="x", mix="x", cue_type="pitch", kind="relative", similar=False, correct=True, selected=1)
    assert e.sisdri is None and e.pesq_error is None


def test_heldout_phrasings_table_pairs_each_set_with_its_heldout_twin():
    from tse2.scoring.report import heldout_table

    scores = {"dev": {"accuracy": {"text": 0.8}}, "test": {"accuracy": {"text": 0.75, "attributes": 0.7}},
              "test_heldout": {"accuracy": {"text": 0.6, "attributes": 0.7}}}
    lines = heldout_table(scores)
    assert lines[0] == "## Phrasings never seen in training"
    assert "| test | text | 75.0 % | 60.0 % | -15.0 |" in lines
    assert "| test | attributes | 70.0 % | 70.0 % | +0.0 |" in lines
    assert not any(line.startswith("| dev") for line in lines)
    assert heldout_table({"test": {"accuracy": {"text": 0.7}}}) == []
