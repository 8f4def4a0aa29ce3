"""Prompt parsing: every prompt stage 4 generates parses back to its cues and their direction."""

from __future__ import annotations

import numpy as np
import pytest

from cues.test_prompts import _rows
from tse2.cues.labels import BY_NAME, CONTINUOUS, IndependentBins, label_mixture
from tse2.cues.parse import PromptParseError, parse_prompt, vocabulary
from tse2.cues.prompts import choose_cue_sets, prompt_pair


def _direction(cue: str, word: str) -> int:
    if cue not in BY_NAME:
        return 0
    c = BY_NAME[cue]
    table = {c.above: 1, c.below: -1}
    if c.bins:
        table.update({c.bins[0]: -1, c.bins[-1]: 1})
    return table.get(word, 0)


def test_generated_prompts_parse_back_to_their_cues():
    rows = _rows(n=120, seed=1)
    bins = IndependentBins.fit({c.name: [r[s][c.field] for r in rows for s in ("s1", "s2")] for c in CONTINUOUS if c.bins})
    checked = 0
    for k, row in enumerate(rows):
        labels = label_mixture(row, bins)
        for cue_type, cues in choose_cue_sets(labels, np.random.default_rng(k), keep_similar=True):
            for kind, text in zip(("relative", "independent"), prompt_pair(cues, [0, k, len(cue_type)])):
                if text is None:
                    continue
                got = {r.cue: r.direction for r in parse_prompt(text)}
                want = {c.cue: _direction(c.cue, c.relative if kind == "relative" else c.independent) for c in cues}
                assert got == want, (text, got, want)
                checked += 1
    assert checked > 1000


@pytest.mark.parametrize("prompt, want", [
    ("extract the speaker with the higher pitch who starts first", [("pitch", 1), ("temporal order", -1)]),
    ("the quieter talker", [("loudness", -1)]),
    ("who speaks faster and longer speech", [("speaking rate", 1), ("speaking duration", 1)]),
    ("Give me the second speaker, the one with a wider pitch range.", [("pitch range", 1), ("temporal order", 1)]),
    ("the woman with the deeper voice", [("pitch", -1), ("gender", 0)]),
    ("the higher-pitched one", [("pitch", 1)]),
    ('the one who says "higher pitch please"', [("transcription", 0)]),  # a quote is not cue words
])
def test_free_wording(prompt, want):
    assert [(r.cue, r.direction) for r in parse_prompt(prompt)] == want


def test_unparseable_prompts_list_the_understood_words():
    with pytest.raises(PromptParseError) as err:
        parse_prompt("give me the interesting one")
    msg = str(err.value)
    assert "no cue word understood in 'give me the interesting one'" in msg
    assert "pitch: deep, deeper, high, higher, low, lower, normal, similar" in msg and "temporal order: first" in msg
    with pytest.raises(PromptParseError, match="empty prompt"):
        parse_prompt("  ")
    assert set(vocabulary()) >= {c.name for c in CONTINUOUS} | {"gender", "language", "emotion", "transcription"}
