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


# ------------------------------------------------------------------------------------- extraction
# Text-guided extraction (:func:`extraction_prompt`) describes the target against the other talker
# by its relative cues.  Each (cue, value) has words that go before the speaker noun ("the deeper
# voice") and phrases that go after it ("the talker who starts first"; a "who ..." phrase also gives
# "whoever starts first" and a question "Who starts first? Give me that one.").  A single cue may
# also be asked for by negating the other value ("not the deeper one") or, for gender, by pronouns
# ("her, not him").  {w} is the target's own value: a language name, the transcription, an emotion.


# "similar"/"same" phrases of cues whose template would not read well with that word (the templates
# of tse2/cues/prompts.py use them too).
SIMILAR_PHRASES: Dict[str, str] = {
    "age": "who is of a similar age",
    "temporal order": "who starts speaking at about the same time",
    "language": "who speaks the same language",
    "emotion": "who sounds the same",
    "transcription": "who says the same words",
    "gender": "of the same gender",
}


@dataclass(frozen=True)
class CueWords:
    pre: Tuple[str, ...]  # before the speaker noun
    post: Tuple[str, ...]  # after the speaker noun


@dataclass(frozen=True)
class ExtractionGrammar:
    openers: Tuple[str, ...]  # before a verb request
    requests: Tuple[str, ...]  # verb frames with one {d}
    statements: Tuple[str, ...]  # frames with one {d} that take no opener
    answers: Tuple[str, ...]  # after a question: "Give me that one."
    rejections: Tuple[str, ...]  # {d}: the target; {o}: the other talker ("not the deeper one")
    closers: Tuple[str, ...]
    nouns: Tuple[str, ...]  # the speaker
    similar: Tuple[str, ...]  # a similar value of a continuous cue: {c} is the cue's name


EXTRACTION_GRAMMARS: Dict[str, ExtractionGrammar] = {
    "train": ExtractionGrammar(
        openers=("", "", "please ", "could you ", "can you ", "I'd like you to ", "would you "),
        requests=("extract {d}", "give me {d}", "isolate {d}", "keep {d}", "separate {d}", "pick out {d}",
                  "get me {d}", "single out {d}", "focus on {d}", "let me hear {d}", "remove everyone except {d}"),
        statements=("{d}", "just {d}", "only {d}", "I want {d}", "I need {d}", "I'd like {d}", "I'm looking for {d}"),
        answers=("Give me that one.", "I want that one.", "Keep that one.", "Extract that voice.", "That one, please."),
        rejections=("not {o}, {d}", "{d}, not {o}", "not {o}; I want {d}", "drop {o} and keep {d}",
                    "keep {d} and drop {o}", "I don't want {o}, just {d}"),
        closers=("", "", "", " please", ", please", ", thanks", " for me", " from this recording", " in this clip"),
        nouns=("speaker", "voice", "talker", "one", "person"),
        similar=("with a similar {c}", "of a similar {c}"),
    ),
    "heldout": ExtractionGrammar(
        openers=("would you mind helping: ", "kindly ", "quick request: "),
        requests=("fish out {d}", "salvage {d}", "zero in on {d}", "retain {d}", "mute everybody apart from {d}"),
        statements=("I'm after {d}", "all I care about is {d}", "my target is {d}"),
        answers=("That's my target.", "Retain them.", "Salvage that voice."),
        rejections=("anybody but {o}: {d}", "{d} rather than {o}"),
        closers=(" if possible", ", cheers", " asap"),
        nouns=("individual", "participant"),
        similar=("with a similar {c}",),
    ),
}

EXTRACTION_WORDS: Dict[Tuple[str, str], Dict[str, CueWords]] = {
    ("gender", "f"): {"train": CueWords(("female",), ()), "heldout": CueWords(("feminine",), ())},
    ("gender", "m"): {"train": CueWords(("male",), ()), "heldout": CueWords(("masculine",), ())},
    ("pitch", "higher"): {
        "train": CueWords(("higher", "higher-pitched", "squeakier", "shriller", "higher-sounding"),
                          ("with the higher pitch", "with the higher voice", "who sounds higher",
                           "whose voice is higher", "who speaks higher", "with the squeakier voice")),
        "heldout": CueWords(("thinner-voiced", "more treble"), ("whose register sits above the other's",
                                                               "pitched further up"))},
    ("pitch", "lower"): {
        "train": CueWords(("lower", "deeper", "lower-pitched", "bassier", "deeper-voiced", "booming"),
                          ("with the lower pitch", "with the deeper voice", "who sounds lower", "whose voice is deeper",
                           "who speaks lower", "who sounds deeper")),
        "heldout": CueWords(("gruffer", "heavier-voiced"), ("whose register sits below the other's",
                                                           "pitched further down"))},
    ("pitch range", "wider"): {
        "train": CueWords(("more expressive", "livelier", "more animated", "more melodic"),
                          ("with the wider pitch range", "whose pitch varies more", "with more intonation",
                           "who sounds less flat", "whose pitch moves around more")),
        "heldout": CueWords(("more lilting", "more tuneful"), ("whose intonation swings widely",))},
    ("pitch range", "narrower"): {
        "train": CueWords(("flatter", "more monotone", "less expressive", "more level"),
                          ("with the narrower pitch range", "whose pitch varies less", "with less intonation",
                           "who sounds flatter", "whose pitch stays steadier")),
        "heldout": CueWords(("droning", "more deadpan"), ("whose intonation barely budges",))},
    ("loudness", "louder"): {
        "train": CueWords(("louder", "stronger", "loudest"),
                          ("who speaks louder", "at the higher volume", "who is louder", "speaking more loudly",
                           "who sounds louder", "with the louder voice")),
        "heldout": CueWords(("more thunderous", "blaring"), ("who projects more forcefully",))},
    ("loudness", "quieter"): {
        "train": CueWords(("quieter", "softer", "hushed", "fainter", "quietest"),
                          ("who speaks more softly", "at the lower volume", "who is quieter", "who sounds quieter",
                           "with the softer voice")),
        "heldout": CueWords(("more muted", "more subdued"), ("who barely projects",))},
    ("distance", "nearer"): {
        "train": CueWords(("nearer", "closer", "closest"),
                          ("closer to the microphone", "nearer the mic", "who sounds closer", "who is nearer",
                           "who stands closer")),
        "heldout": CueWords(("adjacent",), ("right beside the recorder", "positioned by the recorder"))},
    ("distance", "farther"): {
        "train": CueWords(("farther", "more distant", "farthest"),
                          ("farther from the microphone", "who sounds more distant", "who is further away",
                           "far from the mic", "who stands farther back")),
        "heldout": CueWords(("remote",), ("across the room", "positioned away from the recorder"))},
    ("speaking rate", "faster"): {
        "train": CueWords(("faster", "quicker", "speedier", "fastest"),
                          ("who talks faster", "who speaks more quickly", "with the faster speaking rate",
                           "who talks at a faster pace", "who speaks fast")),
        "heldout": CueWords(("brisker", "hastier"), ("who rattles along",))},
    ("speaking rate", "slower"): {
        "train": CueWords(("slower", "more leisurely", "slowest"),
                          ("who talks slower", "who speaks more slowly", "with the slower speaking rate",
                           "who talks at a slower pace", "who speaks slowly")),
        "heldout": CueWords(("draggier", "more plodding"), ("who drawls",))},
    ("speaking duration", "longer"): {
        "train": CueWords(("longer-winded",),
                          ("who talks for longer", "with the longer speaking duration", "who speaks longer",
                           "who talks the longest", "with the longer sentence")),
        "heldout": CueWords(("wordier",), ("who holds the floor a while",))},
    ("speaking duration", "shorter"): {
        "train": CueWords(("briefer",),
                          ("who talks for less time", "with the shorter speaking duration", "who speaks shorter",
                           "who talks the least", "with the shorter sentence")),
        "heldout": CueWords(("terser",), ("who wraps up sooner",))},
    ("temporal order", "first"): {
        "train": CueWords(("first", "earlier"),
                          ("who starts first", "who speaks first", "who begins earlier", "who starts before the other",
                           "who starts talking first", "who comes in first")),
        "heldout": CueWords(("opening",), ("who kicks off", "whose voice appears initially"))},
    ("temporal order", "second"): {
        "train": CueWords(("second", "later"),
                          ("who starts second", "who speaks second", "who begins later", "who starts after the other",
                           "who starts talking later", "who comes in later")),
        "heldout": CueWords(("trailing",), ("who chimes in afterwards", "whose voice appears subsequently"))},
    ("age", "older"): {
        "train": CueWords(("older", "more mature", "oldest"), ("who sounds older", "who is older", "with the older voice")),
        "heldout": CueWords(("more aged",), ("who has more years behind them",))},
    ("age", "younger"): {
        "train": CueWords(("younger", "more youthful", "youngest"),
                          ("who sounds younger", "who is younger", "with the younger voice")),
        "heldout": CueWords(("more juvenile",), ("who has fewer years behind them",))},
    ("language", "any"): {
        "train": CueWords(("{w}",), ("who speaks {w}", "speaking {w}", "talking in {w}", "who uses {w}")),
        "heldout": CueWords((), ("conversing in {w}", "whose tongue is {w}"))},
    ("transcription", "any"): {
        "train": CueWords((), ('who says "{w}"', 'saying "{w}"', 'whose words are "{w}"')),
        "heldout": CueWords((), ('uttering "{w}"', 'voicing the line "{w}"'))},
    ("emotion", "any"): {
        "train": CueWords(("{w}",), ("who sounds {w}", "who seems {w}", "with a {w} tone")),
        "heldout": CueWords((), ("coming across {w}", "whose mood is {w}"))},
}
# gender as the noun itself, and as pronouns (training grammar only)
GENDER_NOUNS: Dict[str, Tuple[str, ...]] = {"f": ("woman", "lady", "female speaker"), "m": ("man", "guy", "male speaker")}
PRONOUNS = {"f": ("her", "her voice"), "m": ("him", "his voice")}
ANY_VALUE = ("language", "transcription", "emotion")  # words with the target's own value in {w}


def _cue_key(cue: str, value: str) -> Tuple[str, str]:
    return (cue, "any") if cue in ANY_VALUE else (cue, value)


def _opposite(cue: str, value: str):
    from tse2.cues.labels import BY_NAME

    if cue == "gender":
        return {"f": "m", "m": "f"}.get(value)
    c = BY_NAME.get(cue)
    if c is None:
        return None
    return {c.above: c.below, c.below: c.above}.get(value)


def _head(gender, rng: np.random.Generator, part: str) -> Tuple[str, str]:
    """(adjective before the noun, noun): the speaker, or the gendered speaker."""
    g = EXTRACTION_GRAMMARS[part]
    if gender is None:
        return "", _pick(rng, g.nouns)
    words = EXTRACTION_WORDS[("gender", gender)][part]
    if part == "train" and rng.random() < 0.5:
        return "", _pick(rng, GENDER_NOUNS[gender])
    return _pick(rng, words.pre), _pick(rng, g.nouns)


def _np(pre: str, noun: str, post: str = "") -> str:
    return " ".join(w for w in ("the", pre, noun, post) if w)


def extraction_description(labels, rng: np.random.Generator, part: str, word) -> Tuple[str, str]:
    """(the target as a noun phrase, a "who ..." clause or "") for relative cue ``labels``;
    ``word(label)`` gives a label's value in words (a language's name)."""
    from tse2.cues.labels import SAME, SIMILAR

    g = EXTRACTION_GRAMMARS[part]
    gender = next((lab.relative for lab in labels if lab.cue == "gender" and lab.relative in ("f", "m")), None)
    others = [lab for lab in labels if not (lab.cue == "gender" and lab.relative in ("f", "m"))]
    pre, noun = _head(gender, rng, part)
    posts, clause = [], ""
    for k in rng.permutation(len(others)).tolist():
        lab = others[k]
        if lab.relative in (SIMILAR, SAME):  # flagged and not scored, but the attribute selector reads them
            posts.append(SIMILAR_PHRASES[lab.cue] if lab.cue in SIMILAR_PHRASES else _pick(rng, g.similar).format(c=lab.cue))
            continue
        words = EXTRACTION_WORDS.get(_cue_key(lab.cue, lab.relative), {}).get(part)
        if words is None:
            raise ValueError(f"the {part} grammar has no words for {lab.cue} {lab.relative!r}")
        w = word(lab)
        if words.pre and not pre and (not words.post or rng.random() < 0.4):
            pre = _pick(rng, words.pre).format(w=w)
        else:
            posts.append(_pick(rng, words.post).format(w=w))
    if len(posts) == 1 and posts[0].startswith("who ") and not pre and noun in g.nouns:  # it says everything
        clause = posts[0][4:]
    body = posts[0] if len(posts) == 1 else ", ".join(posts[:-1]) + " and " + posts[-1] if posts else ""
    if noun == "one" and not pre and not body:
        noun = "speaker"
    return _np(pre, noun, body), clause


QUESTION_OPENERS = ("could you ", "can you ", "would you ")


def _sentence(text: str) -> str:
    text = re.sub(r"\ba(?= [aeiou])", "an", text.strip().replace(" ,", ","))
    end = "?" if text.startswith(QUESTION_OPENERS) else "."
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + end


def extraction_prompt(labels, rng: np.random.Generator, part: str = "train", word=lambda lab: lab.relative) -> str:
    """One extraction prompt for the target's relative cue ``labels`` in the ``part`` grammar: a
    request, a statement, a question with an answer, a "whoever" clause or, for a single cue, a
    rejection of the other value ("not the deeper one") or pronouns ("her, not him").  A draw that
    says a hand-written test sentence word for word (``tse2/cues/handwritten/extraction.txt``) is
    drawn again: those stay unseen in training."""
    if part not in EXTRACTION_GRAMMARS:
        raise ValueError(f"unknown grammar {part!r}; the engine has {PARTS}")
    return unlike_handwritten(lambda: _extraction_draw(labels, rng, part, word), "extraction",
                              f"the {part} grammar says only hand-written test sentences for {labels}")


def unlike_handwritten(draw, system: str, failure: str) -> str:
    """``draw()`` again until it is not one of ``system``'s hand-written test sentences (at most 100
    draws; then a ValueError saying ``failure``)."""
    from tse2.cues.handwritten import is_handwritten

    for _ in range(100):
        text = draw()
        if not is_handwritten(text, system):
            return text
    raise ValueError(failure)


def _extraction_draw(labels, rng: np.random.Generator, part: str, word) -> str:
    g = EXTRACTION_GRAMMARS[part]
    desc, clause = extraction_description(labels, rng, part, word)
    single = labels[0] if len(labels) == 1 else None
    r = rng.random()
    if single is not None and single.cue == "gender" and part == "train" and single.relative in PRONOUNS and r < 0.2:
        other = {"f": "m", "m": "f"}[single.relative]
        desc = _pick(rng, g.rejections).format(d=_pick(rng, PRONOUNS[single.relative]), o=_pick(rng, PRONOUNS[other]))
        return _sentence(desc + _pick(rng, g.closers))
    opposite = _opposite(single.cue, single.relative) if single is not None else None
    if opposite is not None and r < 0.35:
        from tse2.cues.labels import CueLabel

        other_desc, _ = extraction_description([CueLabel(single.cue, opposite, None, None)], rng, part, word)
        plain = "the other one" if part == "train" else "the remaining individual"
        desc = _pick(rng, g.rejections).format(d=plain if rng.random() < 0.5 else desc, o=other_desc)
        return _sentence(desc + _pick(rng, g.closers))
    if clause and r < 0.55:
        if rng.random() < 0.5:  # a question, then the request
            return _sentence(("Who " if part == "train" else "Which individual ") + clause + "?") + " " + \
                _pick(rng, g.answers)
        desc = "whoever " + clause
    if rng.random() < 0.5:
        text = _pick(rng, g.openers) + _pick(rng, g.requests).format(d=desc) + _pick(rng, g.closers)
    else:
        text = _pick(rng, g.statements).format(d=desc) + _pick(rng, g.closers)
    return _sentence(text)


# ------------------------------------------------------------------------------------------ remix
# Remixing (:func:`remix_prompt`): each action (extract, remove, up, down) in frames with one {x},
# the sources it acts on, worded by :mod:`tse2.simulation.remix_tasks` (training or held-out source
# words); two actions are joined into one sentence.  Frames that start with the source or with
# "I" take no opener.


@dataclass(frozen=True)
class RemixGrammar:
    actions: Dict[str, Tuple[str, ...]]
    joiners: Tuple[str, ...]  # {a} and {b}: two clauses
    openers: Tuple[str, ...]
    closers: Tuple[str, ...]


REMIX_GRAMMARS: Dict[str, RemixGrammar] = {
    "train": RemixGrammar(
        actions={
            "extract": ("keep only {x}", "extract {x}", "isolate {x}", "I only need {x}", "let me hear only {x}",
                        "separate out {x}", "keep just {x}", "{x} and nothing else", "just play {x}",
                        "remove everything except {x}"),
            "remove": ("remove {x}", "get rid of {x}", "mute {x}", "cut {x}", "take out {x}", "I don't need {x}",
                       "drop {x}", "delete {x}", "lose {x}", "cut out {x}", "{x} has to go"),
            "up": ("turn up {x}", "make {x} louder", "boost {x}", "increase the volume of {x}", "amplify {x}",
                   "{x} should be louder", "pump up {x}", "give {x} more volume", "bring up {x}",
                   "turn {x} up a notch"),
            "down": ("turn down {x}", "make {x} quieter", "lower the volume of {x}", "reduce {x}", "soften {x}",
                     "{x} should be quieter", "make {x} softer", "bring down {x}", "turn {x} down a notch",
                     "{x} is a bit too loud, lower it"),
        },
        joiners=("{a} and {b}", "{a}, then {b}", "{a}; also, {b}", "first {a}, then {b}"),
        openers=("", "", "please ", "could you ", "can you ", "hey, ", "I'd like you to "),
        closers=("", "", " please", ", thanks", " for me", " in this recording"),
    ),
    "heldout": RemixGrammar(
        actions={
            "extract": ("leave nothing but {x}", "focus on {x} alone", "retain solely {x}"),
            "remove": ("silence {x}", "erase {x} from the recording", "eliminate {x}"),
            "up": ("raise {x}", "bring {x} forward", "accentuate {x}"),
            "down": ("tone down {x}", "push {x} into the background", "attenuate {x}"),
        },
        joiners=("{a}, plus {b}", "{a}, additionally {b}"),
        openers=("would you kindly ", "if you could, ", "be so kind and "),
        closers=(" if possible", ", cheers", " asap"),
    ),
}


def remix_clause(action: str, x: str, rng: np.random.Generator, part: str, verb_first: bool = False) -> Tuple[str, bool]:
    """(clause, whether it is an imperative that can take an opener) for ``action`` on ``x``;
    ``verb_first``: not a frame that names ``x`` before its verb (after another clause, "the dog
    has to go" would read as part of it)."""
    frames = REMIX_GRAMMARS[part].actions[action]
    if verb_first:
        frames = tuple(f for f in frames if not f.startswith("{x}"))
    frame = _pick(rng, frames)
    return frame.format(x=x), not frame.startswith(("{x}", "I "))


def remix_sentence(clauses: Sequence[Tuple[str, bool]], rng: np.random.Generator, part: str) -> str:
    """One prompt from one or two clauses of :func:`remix_clause`: joined, with an opener (where
    the first clause is an imperative) and a closer."""
    g = REMIX_GRAMMARS[part]
    texts = [c for c, _ in clauses]
    body = texts[0] if len(texts) == 1 else _pick(rng, g.joiners).format(a=texts[0], b=" and ".join(texts[1:]))
    opener = _pick(rng, g.openers) if clauses[0][1] and not body.startswith("first ") else ""
    text = opener + body + _pick(rng, g.closers)
    end = "?" if opener.startswith(QUESTION_OPENERS) else "."
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + end
