"""Cue words of a prompt: the inverse of :mod:`tse2.cues.prompts`, for the training-free selector.

Every cue vocabulary of stage 4 is understood: the relative words of the continuous cues
("higher pitch", "louder", "starts speaking first"), their independent words ("high pitch",
"fast speaking rate"), and the discrete cues (gender words, language names, emotions, a quoted
transcription).  A :class:`CueRelation` says which way the target differs: ``direction`` +1 when
the target has the larger value (higher, louder, later onset), −1 when the smaller, 0 when the
words are not discriminative ("similar", "same", "normal") or the cue is discrete.

Free wording works as long as the cue word sits next to its attribute ("the speaker with the
higher pitch", "the quieter talker", "who speaks faster", "who starts first"), or follows it
("whose pitch range is wider", "whose voice is higher in pitch"): stage 4's held-out phrasings
are all read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Tuple

from tse2.cues.labels import BY_NAME, CONTINUOUS
from tse2.cues.prompts import GENDER_WORDS, LANGUAGE_NAMES


class PromptParseError(ValueError):
    """A prompt holds no cue word the selector understands."""


@dataclass(frozen=True)
class CueRelation:
    cue: str  # cue name of stage 4 ("pitch", "temporal order", "gender", ...)
    word: str  # the word that was matched
    direction: int  # +1 target larger, -1 target smaller, 0 not discriminative / discrete


# Attribute nouns a continuous cue word may qualify ("higher pitch", "louder voice").
NOUNS: Dict[str, str] = {
    "pitch range": r"pitch\s+range|f0\s+range|range\s+of\s+pitch",
    "pitch": r"pitch(?:ed)?(?!\s+range)|voice|f0|tone",
    "loudness": r"volume|loudness|level",
    "speaking rate": r"speaking\s+rate|speech\s+rate|rate|pace|tempo",
    "speaking duration": r"speaking\s+duration|duration|utterance|speech",
    "distance": r"distance",
    "age": r"age",
}
# Words that name their cue on their own ("the louder speaker", "who speaks faster").
STANDALONE: Dict[str, Tuple[str, ...]] = {
    "loudness": ("louder", "quieter", "softer", "loud", "quiet", "soft"),
    "speaking rate": ("faster", "slower"),
    "distance": ("farther", "further", "nearer", "closer"),
    "age": ("older", "younger"),
}
SYNONYMS = {"softer": "quieter", "soft": "quiet", "further": "farther", "closer": "nearer",
            "earlier": "first", "later": "second", "last": "second", "deeper": "lower", "deep": "low"}
NEUTRAL = ("similar", "same", "normal", "comparable")


def _words(cue: str) -> Dict[str, int]:
    c = BY_NAME[cue]
    out = {c.above: 1, c.below: -1, "similar": 0}
    if c.bins:
        out[c.bins[0]] = -1
        out[c.bins[-1]] = 1
        if len(c.bins) == 3:
            out[c.bins[1]] = 0
    return out


def vocabulary() -> Dict[str, List[str]]:
    """Every understood cue word, per cue (for error messages and docs)."""
    vocab = {c.name: sorted(set(_words(c.name)) | {w for w, s in SYNONYMS.items() if s in _words(c.name)})
             for c in CONTINUOUS}
    vocab["temporal order"] = ["first", "second", "earlier", "later", "starts ... first/second"]
    vocab["gender"] = sorted(GENDER_WORDS.values()) + ["man", "woman"]
    vocab["language"] = sorted(LANGUAGE_NAMES.values())
    vocab["emotion"] = ["sounds <emotion>"]
    vocab["transcription"] = ['says "<words>"']
    return vocab


CONTINUOUS_ORDER = ("pitch range", "pitch", "loudness", "speaking rate", "speaking duration", "distance", "age")
TEMPORAL = (r"\b(?:starts?|begins?|speaks?|talks?|comes?\s+in)\b[\w\s]{0,20}?\b(first|second|earlier|later|last)\b"
            r"|\b(first|second|last)\s+(?:speaker|talker|voice|one)\b|\b(earlier|later)\b")
GENDER_SIDE = {"female": "f", "woman": "f", "women": "f", "male": "m", "man": "m", "men": "m"}
# words that negate what follows them, up to the end of the clause ("the louder one, not the quieter")
NEGATION = r"\b(?:not|never|no|rather\s+than|instead\s+of|other\s+than|except|but\s+not)\b|n't\b"
CLAUSE_END = r"[,;.!?]|\band\b|\bbut\b|\bwho\b|\bwhose\b|\bwith\b"


def _cue_patterns(cue: str) -> List[str]:
    """The regular expressions that find a continuous cue's words, in the order they are tried."""
    words = _words(cue)
    alts = "|".join(sorted(set(words) | {w for w, s in SYNONYMS.items() if s in words}, key=len, reverse=True))
    if cue == "age":
        return [rf"\b(?:of\s+an?\s+)?({alts})\s+age\b|\bwho\s+is\s+({alts})\b"]
    pats = [rf"\b({alts})[\s-]+(?:in\s+)?(?:{NOUNS[cue]})\b",  # "the higher pitch"
            rf"\b(?:{NOUNS[cue]})\b(?:\s+\w+){{0,3}}?\s+(?:is|are|was|sounds?)\s+({alts})\b"]  # "whose pitch is higher"
    if cue in STANDALONE:
        pats.append(rf"\b({'|'.join(STANDALONE[cue])})\b")
    return pats


def _negated_spans(text: str) -> List[Tuple[int, int]]:
    spans = []
    for m in re.finditer(NEGATION, text):
        end = re.search(CLAUSE_END, text[m.end():])
        spans.append((m.start(), m.end() + (end.start() if end else len(text) - m.end())))
    return spans


def contradictions(prompt: str) -> List[str]:
    """Cue words of one prompt that cannot all hold for one talker ("the louder and the quieter
    one", "who starts first and starts last", "the man, the woman", two languages), each as
    ``cue: 'word' and 'word'``.  Words under a negation ("the louder one, not the quieter") do not
    count: they say what the target is not."""
    if not isinstance(prompt, str):
        return []
    text = re.sub(r'"[^"]*"', ' "" ', prompt.lower())
    negated = _negated_spans(text)

    def affirmed(matches):
        return [m for m in matches if not any(a <= m.start() < b for a, b in negated)]

    out = []
    for cue in CONTINUOUS_ORDER:
        words = _words(cue)
        seen: Dict[int, str] = {}
        for pat in _cue_patterns(cue):
            for m in affirmed(re.finditer(pat, text)):
                word = next(g for g in m.groups() if g)
                seen.setdefault(words.get(SYNONYMS.get(word, word), 0), word)
        if 1 in seen and -1 in seen:
            out.append(f"{cue}: {seen[1]!r} and {seen[-1]!r}")
    order: Dict[str, str] = {}
    for m in affirmed(re.finditer(TEMPORAL, text)):
        word = next(g for g in m.groups() if g)
        order.setdefault("second" if SYNONYMS.get(word, word) in ("second", "last") else "first", word)
    if len(order) == 2:
        out.append(f"temporal order: {order['first']!r} and {order['second']!r}")
    sides: Dict[str, str] = {}
    for m in affirmed(re.finditer(r"\b(female|male|woman|man|women|men)\b", text)):
        sides.setdefault(GENDER_SIDE[m.group(1)], m.group(1))
    if len(sides) == 2:
        out.append(f"gender: {sides['f']!r} and {sides['m']!r}")
    langs = []
    for name in LANGUAGE_NAMES.values():
        if name not in langs and affirmed(re.finditer(rf"\b{name.lower()}\b", text)):
            langs.append(name)
    if len(langs) > 1:
        out.append(f"language: {' and '.join(repr(n) for n in langs[:2])}")
    return out


def parse_prompt(prompt: str) -> List[CueRelation]:
    """All cue relations a prompt states, in a fixed cue order; raises :class:`PromptParseError`."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise PromptParseError("empty prompt")
    text = re.sub(r'"[^"]*"', ' "" ', prompt.lower())  # a quoted transcription is not cue words
    found: Dict[str, CueRelation] = {}

    def add(cue: str, word: str, direction: int) -> None:
        found.setdefault(cue, CueRelation(cue, word, direction))

    for cue in CONTINUOUS_ORDER:
        words = _words(cue)
        m = next((m for pat in _cue_patterns(cue) for m in [re.search(pat, text)] if m is not None), None)
        if m is not None:
            word = next(g for g in m.groups() if g)
            add(cue, word, words.get(SYNONYMS.get(word, word), 0))
    m = re.search(TEMPORAL, text)
    if m is not None:
        word = next(g for g in m.groups() if g)
        add("temporal order", word, 1 if SYNONYMS.get(word, word) == "second" else -1)
    elif re.search(r"\bstarts?\b.*\b(?:same|similar)\s+time\b", text):
        add("temporal order", "same time", 0)
    m = re.search(r"\b(female|male|woman|man|women|men)\b|\bsame\s+(gender|sex)\b", text)
    if m is not None:
        add("gender", next(g for g in m.groups() if g), 0)
    if re.search(r"\bsame\s+language\b", text):
        add("language", "same language", 0)
    if re.search(r"\bsays?\s+the\s+same\s+words\b", text):
        add("transcription", "same words", 0)
    for name in LANGUAGE_NAMES.values():
        if re.search(rf"\b{name.lower()}\b", text):
            add("language", name, 0)
            break
    known = {w for ws in vocabulary().values() for w in ws}
    for m in re.finditer(r"\bsounds?\s+(\w+)", text):
        if m.group(1) not in known:  # "sounds happy"; "sounds louder" is loudness
            add("emotion", m.group(1), 0)
            break
    if '""' in text and re.search(r"\b(?:says?|said|saying)\b", text):
        add("transcription", "says", 0)
    if not found:
        words = "; ".join(f"{cue}: {', '.join(ws)}" for cue, ws in vocabulary().items())
        raise PromptParseError(f"no cue word understood in {prompt!r}. Understood cue words: {words}")
    order = [c.name for c in CONTINUOUS] + ["gender", "language", "emotion", "transcription"]
    return sorted(found.values(), key=lambda r: order.index(r.cue))
