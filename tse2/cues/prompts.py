"""Text prompts from cue labels, with templates shared by relative and independent cues.

A prompt is a frame ("Please {verb} the {description}.") with an action verb and a description
of the target made of one phrase per cue ("female speaker", "with a higher pitch", "who starts
speaking first").  Every random choice (frame, verb, phrase order) is drawn once per
(mixture, cue type) and used for both kinds of prompt, and each cue's phrase has one slot for the
cue word, so a relative and an independent prompt differ only in that word ("higher pitch" vs
"high pitch").
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tse2.cues.labels import SAME, SIMILAR, CueLabel
from tse2.cues.variety import SIMILAR_PHRASES  # "similar"/"same" phrases, shared with the engine

# Templates are split in two: training prompts use TRAIN_*; HELDOUT_* (other verbs, frames, nouns
# and cue phrases) word the independent prompts of a test set's held-out copy (stage 4's
# ``--templates heldout``), whose relative prompts come from the held-out grammar of the
# prompt-variety engine (tse2.cues.variety).
TRAIN_VERBS = ("extract", "separate", "isolate", "pick out", "single out", "focus on")
HELDOUT_VERBS = ("pull out", "enhance", "keep", "bring out")
TRAIN_FRAMES = (
    "Please {verb} the {desc}.",
    "{Verb} the {desc}.",
    "Can you {verb} the {desc}?",
    "Could you {verb} the {desc} from this recording?",
    "I would like you to {verb} the {desc}.",
    "{Verb} the voice of the {desc}.",
    "In this mixture, {verb} the {desc}.",
    "Help me {verb} the {desc}, please.",
)
HELDOUT_FRAMES = (
    "I only want to hear the {desc}.",
    "Which voice belongs to the {desc}? {Verb} that voice.",
    "The {desc}, please.",
    "Just {verb} the {desc} for me.",
    "From this recording, {verb} the {desc}.",
    "Is there a {desc} here? {Verb} that voice.",
)
VERBS, FRAMES = TRAIN_VERBS, TRAIN_FRAMES  # the training templates (older names)
TEMPLATE_SETS = ("train", "heldout", "handwritten")  # handwritten: tse2/cues/handwritten/extraction.txt
LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "zh": "Chinese",
                  # the voices corpus (tse2/corpus/voices.py) adds these
                  "be": "Belarusian", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish",
                  "el": "Greek", "fi": "Finnish", "hi": "Hindi", "it": "Italian", "lt": "Lithuanian",
                  "ml": "Malayalam", "mr": "Marathi", "nl": "Dutch", "pl": "Polish", "ro": "Romanian",
                  "ru": "Russian", "te": "Telugu", "uk": "Ukrainian"}
GENDER_WORDS = {"f": "female", "m": "male"}

# Phrase per cue with one {w} slot for the cue word; "similar"/"same" use their own phrase.
PHRASES: Dict[str, str] = {
    "loudness": "who speaks at a {w} volume",
    "distance": "at a {w} distance from the microphone",
    "age": "who is {w}",
    "pitch": "with a {w} pitch",
    "pitch range": "with a {w} pitch range",
    "speaking rate": "with a {w} speaking rate",
    "speaking duration": "with a {w} speaking duration",
    "temporal order": "who starts speaking {w}",
    "language": "who speaks {w}",
    "emotion": "who sounds {w}",
    "transcription": 'who says "{w}"',
}
# Held-out phrases: the same cue words in other wording (the attribute selector's parser reads both).
HELDOUT_PHRASES: Dict[str, str] = {
    "loudness": "who is {w} in volume",
    "distance": "whose distance to the microphone is {w}",
    "age": "who is {w}",
    "pitch": "whose voice is {w} in pitch",
    "pitch range": "whose pitch range is {w}",
    "speaking rate": "who talks at a {w} pace",
    "speaking duration": "who talks for a {w} duration",
    "temporal order": "who begins talking {w}",
    "language": "who is speaking {w}",
    "emotion": "whose voice sounds {w}",
    "transcription": 'who said "{w}"',
}
SPEAKER_NOUNS = {"train": ("speaker",), "heldout": ("talker", "person")}
GENDER_NOUNS = {"f": "woman", "m": "man"}
def cue_word(label: CueLabel, kind: str) -> str:
    value = label.relative if kind == "relative" else label.independent
    if label.cue == "language":
        return LANGUAGE_NAMES.get(value, value)
    if label.cue == "gender":
        return GENDER_WORDS.get(value, value)
    return value


def describe(labels: Sequence[CueLabel], kind: str, order: Sequence[int], templates: str = "train",
             noun: int = 0) -> str:
    """The target description: gender (if any) as an adjective (held-out: as the noun), the other
    cues as phrases."""
    phrases_of = PHRASES if templates == "train" else HELDOUT_PHRASES
    nouns = SPEAKER_NOUNS[templates]
    head, phrases = nouns[noun % len(nouns)], []
    for k in order:
        lab = labels[k]
        value = lab.relative if kind == "relative" else lab.independent
        if value in (SIMILAR, SAME) and lab.cue in SIMILAR_PHRASES:
            phrases.append(SIMILAR_PHRASES[lab.cue])
        elif lab.cue == "gender":
            head = (cue_word(lab, kind) + " speaker" if templates == "train"
                    else GENDER_NOUNS.get(value, cue_word(lab, kind) + " " + head))
        else:
            phrases.append(phrases_of[lab.cue].format(w=cue_word(lab, kind)))
    if len(phrases) > 1:
        body = ", ".join(phrases[:-1]) + " and " + phrases[-1]
    else:
        body = phrases[0] if phrases else ""
    return f"{head} {body}".strip()


def handwritten(labels: Sequence[CueLabel], kind: str, rng: np.random.Generator) -> Optional[str]:
    """A hand-written test sentence (``tse2/cues/handwritten/extraction.txt``) for a single
    discriminative relative cue, its slots filled ({language}, {text}); None for anything else
    (several cues, an independent cue, a similar/same one, a value with no sentences)."""
    from tse2.cues.handwritten import fill, shipped

    if kind != "relative" or len(labels) != 1 or not labels[0].discriminative:
        return None
    lab = labels[0]
    key = (lab.cue, lab.relative) if lab.cue not in ("language", "transcription", "emotion") else (lab.cue, "any")
    sentences = shipped("extraction").get(key)
    if not sentences:
        return None
    word = cue_word(lab, kind)
    return fill(sentences[int(rng.integers(len(sentences)))], language=word, text=word, emotion=word)


def render(labels: Sequence[CueLabel], kind: str, rng: np.random.Generator, templates: str = "train") -> Optional[str]:
    """One prompt; ``rng`` must be freshly seeded per (mixture, cue type) so both kinds match.
    ``templates``: ``train`` (the training phrasings), ``heldout`` (phrasings kept for testing) or
    ``handwritten`` (the hand-written test sentences: single relative cues only, else None)."""
    if templates not in TEMPLATE_SETS:
        raise ValueError(f"templates must be one of {TEMPLATE_SETS}, got {templates!r}")
    if templates == "handwritten":
        return handwritten(labels, kind, rng)
    frames, verbs = (TRAIN_FRAMES, TRAIN_VERBS) if templates == "train" else (HELDOUT_FRAMES, HELDOUT_VERBS)
    frame = frames[int(rng.integers(len(frames)))]
    verb = verbs[int(rng.integers(len(verbs)))]
    order = rng.permutation(len(labels)).tolist()
    noun = int(rng.integers(2)) if templates == "heldout" else 0
    text = frame.format(verb=verb, Verb=verb[0].upper() + verb[1:],
                        desc=describe(labels, kind, order, templates, noun))
    return text[0].upper() + text[1:]


def choose_cue_sets(
    labels: Dict[str, CueLabel], rng: np.random.Generator, keep_similar: bool
) -> List[Tuple[str, List[CueLabel]]]:
    """(cue type, cues) for every prompt of a mixture: each individual cue, "random", "all".

    Individual cues that are similar/same are kept only with ``keep_similar``; "random" (a
    random 2..n−1 of the n discriminative cues, n ≥ 3) and "all" (n ≥ 2) use discriminative cues.
    """
    from tse2.cues.labels import INDIVIDUAL_CUES

    out = []
    usable = [labels[c] for c in INDIVIDUAL_CUES if c in labels]
    for lab in usable:
        if lab.discriminative or keep_similar:
            out.append((lab.cue, [lab]))
    disc = [lab for lab in usable if lab.discriminative]
    n = len(disc)
    if n >= 3:
        size = int(rng.integers(2, n))  # 2 .. n-1
        pick = sorted(rng.choice(n, size=size, replace=False).tolist())
        out.append(("random", [disc[i] for i in pick]))
    if n >= 2:
        out.append(("all", disc))
    return out


def has_independent(cues: Sequence[CueLabel]) -> bool:
    return all(c.independent is not None for c in cues)


def prompt_pair(cues: Sequence[CueLabel], seed_seq: Sequence[int], templates: str = "train",
                variety: float = 0.0) -> Tuple[Optional[str], Optional[str]]:
    """(relative prompt, independent prompt or None) from one seed: with the templates they differ
    only in cue words.  With ``templates="handwritten"`` the relative prompt is None where no
    hand-written sentence fits.  The relative prompt comes from the prompt-variety engine
    (:func:`tse2.cues.variety.extraction_prompt`) in its held-out grammar with
    ``templates="heldout"``, and in its training grammar with probability ``variety`` (drawn from
    the same seed) with ``templates="train"``; the independent prompt is always a template."""
    from tse2.cues.variety import extraction_prompt

    if not 0.0 <= variety <= 1.0:
        raise ValueError(f"variety must be a share in [0, 1], got {variety}")
    engine = None
    if templates == "heldout":
        engine = "heldout"
    elif templates == "train" and variety > 0 and np.random.default_rng([*seed_seq, 7]).random() < variety:
        engine = "train"
    if engine is not None:
        rel = extraction_prompt(cues, np.random.default_rng(list(seed_seq)), engine,
                                word=lambda lab: cue_word(lab, "relative"))
    else:
        rel = render(cues, "relative", np.random.default_rng(list(seed_seq)), templates)
    ind = (render(cues, "independent", np.random.default_rng(list(seed_seq)), templates)
           if has_independent(cues) else None)
    return rel, ind
