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


@pytest.mark.parametrize("prompt, want", [
    # comparatives, superlatives and synonyms without the cue's noun
    ("whichever of them is squeakiest", [("pitch", 1)]),
    ("the bassy one", [("pitch", -1)]),
    ("pick the person whose speech sounds lower", [("pitch", -1)]),
    ("the quietest of the pair", [("loudness", -1)]),
    ("the one at a greater volume", [("loudness", 1)]),
    ("whoever rattles along more rapidly", [("speaking rate", 1)]),
    ("someone speaking really slow", [("speaking rate", -1)]),
    ("the animated talker", [("pitch range", 1)]),
    ("the one who is less expressive", [("pitch range", -1)]),
    ("the person whose pitch range is larger", [("pitch range", 1)]),
    ("the one who went on speaking the longest", [("speaking duration", 1)]),
    ("the talker who is far away from the mic", [("distance", 1)]),
    ("the elderly speaker", [("age", 1)]),
    ("whoever kicks off the conversation", [("temporal order", -1)]),
    ("the one who chimes in", [("temporal order", 1)]),
    ("who starts after the other one?", [("temporal order", 1)]),
    # negation and rejection: the word says what the target is not
    ("not the squeaky one", [("pitch", -1)]),
    ("anyone but not the faster talker", [("speaking rate", -1)]),
    ("rather than the one who begins first, the other", [("temporal order", 1)]),
    ("leave out nobody except the louder one; I want the other", [("loudness", -1)]),
    ("the louder one, not the quieter", [("loudness", 1)]),
])
def test_own_words(prompt, want):
    assert [(r.cue, r.direction) for r in parse_prompt(prompt)] == want


@pytest.mark.parametrize("prompt, side, negated", [
    ("she is the one I want", "f", False),
    ("keep him", "m", False),
    ("give me the girl", "f", False),
    ("the dude, please", "m", False),
    ("not the lady", "m", True),
    ("drop the gentleman", "f", True),
    ("I want hers, not his", "f", False),
])
def test_gender_pronouns_and_negation(prompt, side, negated):
    (rel,) = [r for r in parse_prompt(prompt) if r.cue == "gender"]
    assert (rel.value, rel.negated) == (side, negated)


def test_unparseable_prompts_list_the_understood_words():
    with pytest.raises(PromptParseError) as err:
        parse_prompt("give me the interesting one")
    msg = str(err.value)
    assert "no cue word understood in 'give me the interesting one'" in msg
    assert "pitch: bassier, bassy, booming, deep, deeper" in msg and "temporal order: first" in msg
    with pytest.raises(PromptParseError, match="empty prompt"):
        parse_prompt("  ")
    assert set(vocabulary()) >= {c.name for c in CONTINUOUS} | {"gender", "language", "emotion", "transcription"}
