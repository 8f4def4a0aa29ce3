"""The prompt-variety engine: the ways people word a request around what they describe, in two
disjoint grammars, so that training sees many phrasings and testing can use ones it never saw.

A prompt is ``opener + frame(description) + closer``, or a question frame; the description is the
system's own words for the target (a style's adjective or phrase, a cue phrase).  Each grammar has
its own openers, request frames, question frames, closers and descriptive words:

    TRAIN    sampled (seeded) at training time
    HELDOUT  only for testing: no frame and no word of it occurs in a training prompt
             (``test/cues/test_variety.py`` checks it over the whole generated training set)

The hand-written test sentences (``tse2/cues/handwritten/``) are a third, fixed set written by a
person, not generated here.

Retrieval (:func:`style_query`) describes a style with an adjective ("a hushed voice", "speech
that sounds gloomy") or with one of its phrases of :mod:`tse2.cues.styles` ("someone who speaks
slowly").  Written here rather than taken from a paraphrase library: none ships offline, and the
split into disjoint grammars is what the tests need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

PARTS = ("train", "heldout")


@dataclass(frozen=True)
class Grammar:
    """How a request is worded around a description ``{d}``."""

    openers: Tuple[str, ...]  # before a request ("could you ")
    requests: Tuple[str, ...]  # verb frames with one {d} ("find {d}")
    statements: Tuple[str, ...]  # frames without a verb to open ("{d}", "I want {d}")
    questions: Tuple[str, ...]  # frames with one {d}, asked as a question
    closers: Tuple[str, ...]
    nouns: Tuple[str, ...]  # what the description is about: "speech", "a voice", ...
    adjective_frames: Tuple[str, ...]  # {a}: an adjective, {n}: a noun of ``nouns``


GRAMMARS: Dict[str, Grammar] = {
    "train": Grammar(
        openers=("", "", "please ", "could you ", "can you ", "hey, "),
        requests=("find {d}", "show me {d}", "get me {d}", "search for {d}", "give me clips of {d}", "look up {d}"),
        statements=("{d}", "{d}", "I want {d}", "recordings with {d}", "I need {d}", "clips of {d}"),
        questions=("which utterances have {d}?", "is there {d} in here?", "any {d}?", "can I hear {d}?"),
        closers=("", "", " please", ", thanks", " for me"),
        nouns=("speech", "a voice", "a speaker", "talking", "an utterance"),
        adjective_frames=("{a} {n}", "{n} that sounds {a}", "someone sounding {a}", "a {a}-sounding person"),
    ),
    "heldout": Grammar(
        openers=("would you mind helping: ", "kindly ", "quick request: "),
        requests=("dig up {d}", "pull up {d}", "fetch {d}", "bring me {d}"),
        statements=("I'm after {d}", "ideally {d}", "samples featuring {d}"),
        questions=("where can I hear {d}?", "got anything with {d}?", "do we have {d}?"),
        closers=(" if possible", ", cheers", " asap"),
        nouns=("a narration", "a reading", "a line read"),
        adjective_frames=("{n} delivered in a {a} way", "a {a} delivery", "{n} with a {a} quality"),
    ),
}

# Adjectives per embedded style (tse2.corpus.styles), disjoint between the two parts.
STYLE_ADJECTIVES: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "neutral": {"train": ("neutral", "plain", "ordinary", "emotionless", "matter-of-fact"),
                "heldout": ("unemotive", "dispassionate")},
    "happy": {"train": ("happy", "cheerful", "joyful", "glad", "upbeat"), "heldout": ("merry", "elated")},
    "sad": {"train": ("sad", "sorrowful", "gloomy", "unhappy", "mournful"), "heldout": ("downcast", "melancholy")},
    "angry": {"train": ("angry", "furious", "irate", "mad", "enraged"), "heldout": ("livid", "fuming")},
    "whispered": {"train": ("whispered", "whispering", "breathy", "murmured", "voiceless"),
                  "heldout": ("susurrant", "unvoiced")},
    "fast": {"train": ("fast", "rapid", "quick", "speedy", "rushed"), "heldout": ("brisk", "breakneck")},
    "slow": {"train": ("slow", "unhurried", "leisurely", "drawn-out", "slow-paced"), "heldout": ("plodding", "languid")},
    "loud": {"train": ("loud", "forceful", "powerful", "noisy", "high-volume"), "heldout": ("thunderous", "blaring")},
    "soft": {"train": ("soft", "quiet", "gentle", "faint", "low-volume"), "heldout": ("muted", "subdued")},
    "high-pitched": {"train": ("high-pitched", "squeaky", "shrill", "high", "high-toned"),
                     "heldout": ("falsetto", "reedy")},
    "low-pitched": {"train": ("low-pitched", "deep", "bass", "low", "low-toned"), "heldout": ("baritone", "sonorous")},
    "monotone": {"train": ("monotone", "monotonous", "flat", "level", "unvarying"),
                 "heldout": ("toneless", "singsongless")},
    "enunciated": {"train": ("enunciated", "over-articulated", "word-by-word", "deliberate", "staccato"),
                   "heldout": ("syllable-by-syllable", "punctilious")},
}


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def wrap(description: str, rng: np.random.Generator, part: str = "train", question_share: float = 0.25) -> str:
    """A request (or, with probability ``question_share``, a question) around ``description``."""
    if part not in GRAMMARS:
        raise ValueError(f"unknown grammar {part!r}; the engine has {PARTS}")
    g = GRAMMARS[part]
    r = rng.random()
    if r < question_share:
        text = _pick(rng, g.questions).format(d=description)
    elif r < question_share + (1 - question_share) / 2:
        text = _pick(rng, g.openers) + _pick(rng, g.requests).format(d=description) + _pick(rng, g.closers)
    else:
        text = _pick(rng, g.statements).format(d=description) + _pick(rng, g.closers)
    return re.sub(r"\ba(?= [aeiou])", "an", text)


def style_description(style: str, rng: np.random.Generator, part: str,
                      phrases: Mapping[str, Mapping[str, Sequence[str]]]) -> str:
    """A style in words: an adjective in an adjective frame, or (half the time, where the style has
    ``phrases``, e.g. those of :mod:`tse2.cues.styles`) "someone who <phrase>"."""
    g = GRAMMARS[part]
    adjectives = STYLE_ADJECTIVES.get(style, {}).get(part, ())
    own = list((phrases.get(style) or {}).get(part, ()))
    if own and (not adjectives or rng.random() < 0.5):
        return ("someone who " if part == "train" else "a talker who ") + _pick(rng, own)
    if not adjectives:
        raise ValueError(f"style {style!r} has no words in the {part} grammar")
    a = _pick(rng, adjectives)
    frame = _pick(rng, g.adjective_frames)
    noun = _pick(rng, g.nouns)
    text = frame.format(a=a, n=noun)
    if frame.startswith("{a}") and noun.startswith(("a ", "an ")):  # "a voice" -> "a cheerful voice"
        text = f"a {a} {noun.split(' ', 1)[1]}"
    return text


def style_query(style: str, rng: np.random.Generator, part: str,
                phrases: Mapping[str, Mapping[str, Sequence[str]]]) -> str:
    """One retrieval query for ``style`` in the ``part`` grammar."""
    return wrap(style_description(style, rng, part, phrases), rng, part)


def heldout_style_queries(style: str, phrases: Mapping[str, Mapping[str, Sequence[str]]], n: int = 16,
                          seed: int = 0) -> List[str]:
    """The fixed held-out-grammar test queries of ``style`` (distinct, deterministic per seed)."""
    rng = np.random.default_rng([seed, sum(style.encode())])
    out: List[str] = []
    for _ in range(50 * n):
        q = style_query(style, rng, "heldout", phrases)
        if q not in out:
            out.append(q)
        if len(out) == n:
            break
    return out


def has_words(style: str) -> bool:
    return style in STYLE_ADJECTIVES
