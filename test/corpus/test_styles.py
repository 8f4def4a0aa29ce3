import numpy as np
import pytest

from tse2.corpus.styles import STYLES, make_style_plan, with_pauses

SENTS = {"en": [f"this is sentence number {i} of the test." for i in range(40)]}


def test_plan_is_deterministic_speaker_disjoint_and_complete():
    a = make_style_plan(SENTS, {"train": 2, "dev": 1, "test": 1}, utts_per_style=2, seed=3)
    b = make_style_plan(SENTS, {"train": 2, "dev": 1, "test": 1}, utts_per_style=2, seed=3)
    assert a == b
    speakers, utts = a
    assert len(utts) == 4 * 2 * len(STYLES)
    splits = {}
    for s in speakers:
        splits.setdefault(s.spk, set()).add(s.split)
    assert all(len(v) == 1 for v in splits.values())
    for spk in splits:
        texts = [u.text for u in utts if u.spk == spk and u.emotion != "enunciated"]
        assert len(texts) == len(set(texts))  # no sentence twice per speaker
    by = {(u.spk, u.emotion): u for u in utts if u.utt.endswith("_0")}
    s = speakers[0].spk
    assert by[s, "fast"].rate > 1.5 * by[s, "neutral"].rate > 2.5 * by[s, "slow"].rate
    assert by[s, "loud"].volume > 4 * by[s, "soft"].volume
    assert by[s, "monotone"].pitch_range == 0
    assert by[s, "whispered"].voice.endswith(("+whisper", "+whisperf"))
    assert by[s, "high-pitched"].pitch - by[s, "low-pitched"].pitch > 60


def test_unknown_style_is_clear_and_few_sentences_are_reused():
    with pytest.raises(ValueError, match="unknown style 'grumpy'"):
        make_style_plan(SENTS, {"train": 1}, 1, styles=["grumpy"])
    _, utts = make_style_plan(SENTS, {"train": 1}, 4)  # 52 utterances from 40 sentences: reused
    assert len(utts) == 52 and len({u.text for u in utts if u.emotion != "enunciated"}) <= 40


def test_with_pauses():
    assert with_pauses("one two, three.") == "one, two, three."


def test_styles_are_audible_in_synthesis():
    from tse2.corpus.espeak import EspeakSynth

    synth = EspeakSynth()
    speakers, utts = make_style_plan(SENTS, {"train": 1}, 1, seed=0)
    got = {}
    for u in utts:
        if u.emotion in ("neutral", "fast", "slow", "loud", "soft", "whispered"):
            out = synth.synthesize(u.text, u.voice, rate=u.rate, pitch=u.pitch, pitch_range=u.pitch_range,
                                   volume=u.volume)
            got[u.emotion] = (len(out.audio) / len(u.text.split()), float(np.sqrt(np.mean(out.audio ** 2))))
    assert got["fast"][0] < 0.8 * got["neutral"][0] < 0.8 * got["slow"][0]
    assert got["loud"][1] > 2 * got["soft"][1]
