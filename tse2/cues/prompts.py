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

VERBS = ("extract", "separate", "isolate", "pick out", "single out", "pull out", "focus on", "enhance")
FRAMES = (
    "Please {verb} the {desc}.",
    "{Verb} the {desc}.",
    "Can you {verb} the {desc}?",
    "Could you {verb} the {desc} from this recording?",
    "I would like you to {verb} the {desc}.",
    "{Verb} the voice of the {desc}.",
    "In this mixture, {verb} the {desc}.",
    "Help me {verb} the {desc}, please.",
)
LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "zh": "Chinese"}
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
# "similar"/"same" phrases of cues whose template would not read well with that word.
SIMILAR_PHRASES: Dict[str, str] = {
    "age": "who is of a similar age",
    "temporal order": "who starts speaking at about the same time",
    "language": "who speaks the same language",
    "emotion": "who sounds the same",
    "transcription": "who says the same words",
    "gender": "of the same gender",
}


def cue_word(label: CueLabel, kind: str) -> str:
    value = label.relative if kind == "relative" else label.independent
    if label.cue == "language":
        return LANGUAGE_NAMES.get(value, value)
    if label.cue == "gender":
        return GENDER_WORDS.get(value, value)
    return value


def describe(labels: Sequence[CueLabel], kind: str, order: Sequence[int]) -> str:
    """The target description: gender (if any) as an adjective, the other cues as phrases."""
    adjective, phrases = "", []
    for k in order:
        lab = labels[k]
        value = lab.relative if kind == "relative" else lab.independent
        if value in (SIMILAR, SAME) and lab.cue in SIMILAR_PHRASES:
            phrases.append(SIMILAR_PHRASES[lab.cue])
        elif lab.cue == "gender":
            adjective = cue_word(lab, kind) + " "
        else:
            phrases.append(PHRASES[lab.cue].format(w=cue_word(lab, kind)))
    if len(phrases) > 1:
        body = ", ".join(phrases[:-1]) + " and " + phrases[-1]
    else:
        body = phrases[0] if phrases else ""
    return f"{adjective}speaker {body}".strip()


def render(labels: Sequence[CueLabel], kind: str, rng: np.random.Generator) -> str:
    """One prompt; ``rng`` must be freshly seeded per (mixture, cue type) so both kinds match."""
    frame = FRAMES[int(rng.integers(len(FRAMES)))]
    verb = VERBS[int(rng.integers(len(VERBS)))]
    order = rng.permutation(len(labels)).tolist()
    text = frame.format(verb=verb, Verb=verb[0].upper() + verb[1:], desc=describe(labels, kind, order))
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


def prompt_pair(cues: Sequence[CueLabel], seed_seq: Sequence[int]) -> Tuple[str, Optional[str]]:
    """(relative prompt, independent prompt or None) from one seed: they differ only in cue words."""
    rel = render(cues, "relative", np.random.default_rng(list(seed_seq)))
    ind = render(cues, "independent", np.random.default_rng(list(seed_seq))) if has_independent(cues) else None
    return rel, ind
