"""The training-free attribute selector: margins, decisions, and measurements on espeak speech."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from conftest import requires_espeak
from tse2.attributes.selector import AttributeSelector, Measures, UnmeasurablePromptError, syllable_nuclei
from tse2.bin import select_attributes

LOW = Measures(pitch=100.0, pitch_range=30.0, loudness=-30.0, speaking_rate=200.0, speaking_duration=2.0,
               temporal_order=0.0)
HIGH = Measures(pitch=200.0, pitch_range=90.0, loudness=-20.0, speaking_rate=300.0, speaking_duration=3.0,
                temporal_order=1.0)


@pytest.mark.parametrize("prompt, pick_high", [
    ("Extract the speaker with a higher pitch.", True), ("the speaker with a low pitch", False),
    ("the louder talker", True), ("who speaks at a quiet volume", False),
    ("with a faster speaking rate", True), ("with a shorter speaking duration", False),
    ("the speaker who starts speaking first", False), ("who starts speaking second", True),
    ("with a narrower pitch range", False),
])
def test_each_cue_picks_the_right_candidate(prompt, pick_high):
    sel = AttributeSelector(vad=object())
    for first, second, high_index in ((LOW, HIGH, 1), (HIGH, LOW, 0)):
        k, scores, details = sel.decide(prompt, first, second)
        assert k == (high_index if pick_high else 1 - high_index) and details["decided"], prompt
        assert scores[k] >= scores[1 - k]


def test_margins_are_in_units_of_theta_and_clipped():
    assert AttributeSelector.margin("pitch", 106.0, 100.0, 1) == pytest.approx(1.0)  # 6 % = θ
    assert AttributeSelector.margin("loudness", -20.0, -23.0, -1) == pytest.approx(-1.0)  # 3 dB = θ
    assert AttributeSelector.margin("temporal order", 0.0, 5.0, -1) == 3.0  # clipped
    assert AttributeSelector.margin("pitch", None, 100.0, 1) is None


def test_cues_vote_by_margin_and_missing_measures_abstain():
    sel = AttributeSelector(vad=object())
    # pitch says candidate 1 (+1 θ), temporal order says candidate 2 by 3 θ: order wins
    a = Measures(pitch=106.0, temporal_order=0.5)
    b = Measures(pitch=100.0, temporal_order=0.0)
    k, scores, d = sel.decide("the higher pitched speaker who starts first", a, b)
    assert k == 1 and d["margins"] == {"pitch": pytest.approx(1.0), "temporal order": pytest.approx(-3.0)}
    k, scores, d = sel.decide("the louder one", Measures(), Measures())
    assert not d["decided"] and scores == [0.0, 0.0]


def test_prompts_without_a_measurable_cue_are_an_error():
    sel = AttributeSelector(vad=object())
    with pytest.raises(UnmeasurablePromptError, match=r"understood gender \(female\), language \(German\)"):
        sel.relations("extract the female speaker who speaks German")
    with pytest.raises(UnmeasurablePromptError, match="does not tell the talkers apart"):
        sel.relations("the speaker with a similar pitch")


@requires_espeak
def test_measurements_on_espeak_talkers():
    from conftest import two_talkers
    FS = 16000

    a, b = two_talkers()  # a: low, quiet, first; b: high, louder, 0.6 s later
    sel = AttributeSelector()
    ma, mb = (sel.measure(x, FS, ["pitch", "loudness", "temporal order", "speaking rate"]) for x in (a, b))
    assert ma.pitch < 150 < mb.pitch
    assert mb.loudness - ma.loudness == pytest.approx(20 * np.log10(2), abs=3.0) or mb.loudness > ma.loudness
    assert ma.temporal_order < 0.1 and mb.temporal_order == pytest.approx(0.6, abs=0.1)
    # "The quick brown fox jumps over the lazy dog." has 11 syllables
    assert 7 <= syllable_nuclei(a[: int(2.7 * FS)], FS) <= 15
    assert 150 < ma.speaking_rate < 400


@requires_espeak
def test_tool_on_a_classifier_example_list(tmp_path):
    from conftest import two_talkers
    FS = 16000

    a, b = two_talkers()
    sf.write(tmp_path / "a.wav", a, FS)
    sf.write(tmp_path / "b.wav", b, FS)
    ids = ["m1_gender_rel", "m1_loudness_rel", "m1_temporal_order_rel"]
    prompts = ["Extract the male speaker.", "Pick out the louder speaker.", "Isolate the speaker who starts first."]
    (tmp_path / "cand1.scp").write_text("".join(f"{i} {tmp_path / 'a.wav'}\n" for i in ids))
    (tmp_path / "cand2.scp").write_text("".join(f"{i} {tmp_path / 'b.wav'}\n" for i in ids))
    (tmp_path / "prompt").write_text("".join(f"{i} {p}\n" for i, p in zip(ids, prompts)))
    (tmp_path / "examples.jsonl").write_text("".join(json.dumps({"id": i, "mix": "m1"}) + "\n" for i in ids))
    out = tmp_path / "sel.jsonl"
    assert select_attributes.main(["--data_dir", str(tmp_path), "--out", str(out)]) == 0
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["m1_gender_rel"]["abstain"] is True  # gender is understood, not measured
    assert rows["m1_loudness_rel"]["selected"] == 2 and rows["m1_temporal_order_rel"]["selected"] == 1
    assert not rows["m1_loudness_rel"]["abstain"]
