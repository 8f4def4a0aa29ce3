"""The hand-written test prompts of the three systems: sentences a person might type, written by
hand in ``tse2/cues/handwritten/`` and used only for testing, never for training.

Each system's reports get a third column beside the training and the held-out phrasings: the
same test items, asked in these sentences.  One file per system, in sections:

    # a comment
    [<key>]
    one sentence per line, with {slots} the test item fills in

``extraction.txt``  ``[<cue> <relative value>]`` (``[pitch higher]``, ``[temporal order first]``,
                    ``[gender f]``; ``[language any]`` with ``{language}``, ``[transcription any]``
                    with ``{text}``, ``[emotion any]`` with ``{emotion}``): prompts whose target has
                    that relative cue value.
``retrieval.txt``   ``[<style>]``: queries for utterances of that speaking style.
``remix.txt``       ``[extract]`` ``[remove]`` ``[up]`` ``[down]``: sentences with one ``{x}`` (the
                    sources acted on); ``[speech]`` ``[sounds]`` ``[everything]``: words for all
                    the voices, all the other sounds, the whole mix.

A malformed file is an error naming the file, the line and the problem.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from tse2.cues.labels import CONTINUOUS

HERE = Path(__file__).resolve().parent / "handwritten"
SYSTEMS = ("extraction", "retrieval", "remix")
SLOT = re.compile(r"\{(\w*)\}")
# extraction: the discrete cues' sections, with the slot each sentence must hold
DISCRETE_KEYS = {("gender", "f"): (), ("gender", "m"): (), ("language", "any"): ("language",),
                 ("transcription", "any"): ("text",), ("emotion", "any"): ("emotion",)}
REMIX_ACTIONS = ("extract", "remove", "up", "down")
REMIX_GROUPS = ("speech", "sounds", "everything")


class HandwrittenError(ValueError):
    """A hand-written prompt file that cannot be read as its system needs."""


def path_of(system: str) -> Path:
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; the hand-written prompts are for {SYSTEMS}")
    return HERE / f"{system}.txt"


def read_sections(path: Path) -> Dict[str, List[Tuple[int, str]]]:
    """``{section: [(line number, sentence), ...]}`` in file order."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise HandwrittenError(f"{path}: cannot read the hand-written prompts ({exc})") from None
    out: Dict[str, List[Tuple[int, str]]] = {}
    section: Optional[str] = None
    for n, raw in enumerate(lines, 1):
        line = " ".join(raw.split())
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"\[([^\]]+)\]", line)
        if m:
            section = " ".join(m.group(1).split())
            if section in out:
                raise HandwrittenError(f"{path}:{n}: section [{section}] appears twice")
            out[section] = []
        elif section is None:
            raise HandwrittenError(f"{path}:{n}: a sentence before the first [section]: {line!r}")
        else:
            out[section].append((n, line))
    empty = [s for s, v in out.items() if not v]
    if empty:
        raise HandwrittenError(f"{path}: section [{empty[0]}] has no sentence")
    if not out:
        raise HandwrittenError(f"{path}: no section")
    return out


def _check_slots(path: Path, n: int, sentence: str, allowed: Sequence[str], required: Sequence[str]) -> None:
    slots = SLOT.findall(sentence)
    bad = [s for s in slots if s not in allowed]
    if bad:
        raise HandwrittenError(f"{path}:{n}: unknown slot {{{bad[0]}}} in {sentence!r} (allowed here: "
                               f"{', '.join('{' + a + '}' for a in allowed) or 'none'})")
    for r in required:
        if slots.count(r) != 1:
            raise HandwrittenError(f"{path}:{n}: {sentence!r} must hold {{{r}}} exactly once")


def extraction_keys() -> List[Tuple[str, str]]:
    """Every section an extraction file may have: (cue, relative value)."""
    keys = [(c.name, v) for c in CONTINUOUS for v in (c.above, c.below)]
    return keys + list(DISCRETE_KEYS)


def read_extraction(path: Optional[Path] = None) -> Dict[Tuple[str, str], List[str]]:
    """``{(cue, relative value): sentences}``; discrete cues' values are ``f``/``m`` (gender) or
    ``any`` (language, transcription: the sentence names the target's value through its slot)."""
    path = Path(path) if path else path_of("extraction")
    known = extraction_keys()
    out = {}
    for section, rows in read_sections(path).items():
        cue, _, value = section.rpartition(" ")
        if (cue, value) not in known:
            raise HandwrittenError(f"{path}: unknown section [{section}]; known: "
                                   + ", ".join(f"[{c} {v}]" for c, v in known))
        slots = DISCRETE_KEYS.get((cue, value), ())
        for n, s in rows:
            _check_slots(path, n, s, slots, slots)
        out[(cue, value)] = [s for _, s in rows]
    return out


def read_retrieval(path: Optional[Path] = None, styles: Optional[Sequence[str]] = None) -> Dict[str, List[str]]:
    """``{style: queries}``; with ``styles``, a section for another style is an error."""
    path = Path(path) if path else path_of("retrieval")
    out = {}
    for section, rows in read_sections(path).items():
        if styles is not None and section not in styles:
            raise HandwrittenError(f"{path}: section [{section}] is not a style of this model ({', '.join(styles)})")
        for n, s in rows:
            _check_slots(path, n, s, (), ())
        out[section] = [s for _, s in rows]
    return out


def read_remix(path: Optional[Path] = None) -> Dict[str, List[str]]:
    """``{action or group: sentences or words}``; every action and group must be there."""
    path = Path(path) if path else path_of("remix")
    sections = read_sections(path)
    out = {}
    for section, rows in sections.items():
        if section not in REMIX_ACTIONS + REMIX_GROUPS:
            raise HandwrittenError(f"{path}: unknown section [{section}]")
        for n, s in rows:
            slots = ("x",) if section in REMIX_ACTIONS else ()
            _check_slots(path, n, s, slots, slots)
        out[section] = [s for _, s in rows]
    missing = [k for k in REMIX_ACTIONS + REMIX_GROUPS if k not in sections]
    if missing:
        raise HandwrittenError(f"{path}: no section [{missing[0]}] (a remix file has "
                               + " ".join(f"[{k}]" for k in REMIX_ACTIONS + REMIX_GROUPS) + ")")
    return out


@lru_cache(maxsize=None)
def shipped(system: str):
    """The hand-written prompts shipped with tse2 for ``system`` (read once)."""
    return {"extraction": read_extraction, "retrieval": read_retrieval, "remix": read_remix}[system]()


def count(system: str) -> int:
    """Sentences (remix: sentences and group words) of the shipped file of ``system``."""
    return sum(len(v) for v in shipped(system).values())


def fill(sentence: str, **slots: str) -> str:
    """The sentence with its slots filled, its first letter upper-case."""
    text = sentence.format(**slots)
    return text[0].upper() + text[1:] if text else text


def words(text: str) -> str:
    """A sentence as its lower-case words, one space apart (punctuation and quotes dropped)."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


@lru_cache(maxsize=None)
def _pattern(system: str) -> "re.Pattern":
    alts = []
    for sentence in (s for v in shipped(system).values() for s in v):
        tokens = words(re.sub(r"\{\w+\}", " zzslotzz ", sentence)).split()  # a slot: one or more words
        alts.append(" ".join(r"\S+(?: \S+)*?" if t == "zzslotzz" else re.escape(t) for t in tokens))
    return re.compile("|".join(f"(?:{a})" for a in alts))


def is_handwritten(text: str, system: str = "extraction") -> bool:
    """Whether ``text`` says, word for word, one of the hand-written test sentences of ``system``
    (slots match any words): the prompt-variety engine never trains on those."""
    return _pattern(system).fullmatch(words(text)) is not None


__all__ = ["HandwrittenError", "SYSTEMS", "read_sections", "read_extraction", "read_retrieval", "read_remix",
           "shipped", "count", "fill", "extraction_keys", "path_of", "is_handwritten", "words"]
