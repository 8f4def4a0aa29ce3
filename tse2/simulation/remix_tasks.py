"""Remixing instructions: the 16 tasks of Listen, Chat, and Remix (Table I), their gains, and the
text prompts that say them.

A mixture is ``x = sum_i s_i``; an instruction gives every source a gain from the paper's action
set {remove: 0, keep: 1, up: 2, down: 0.5} and the target is ``y = sum_i g_i s_i``.  A gain vector
belongs to exactly one task (:func:`classify`), so the sampler draws a task uniformly, then a gain
vector of that task (the paper's "evenly sampled a task, then an instruction"), then a prompt:

    TSE TSR TSU TSD   one speech: extract, remove, volume up, volume down
    TAE TAR TAU TAD   one audio source: the same four
    SE  SR  SU  SD    all speech (against all audio): extract, remove, up, down
    ME                several sources extracted or removed
    MVC               several sources re-levelled
    MEVC              several sources extracted or removed and re-levelled
    OVC               the whole mixture louder or quieter

Prompts are written from templates with paraphrases, as the paper's GPT-written prompts vary the
verbs and the words for sources.  Speakers are named by what tells them apart in this mixture
(gender, a speaking style, or both); sounds by their category words (:mod:`tse2.corpus.sounds`).
``held_out=True`` uses verbs, templates and words that training never sees (the test-only set);
:func:`handwritten_prompt` says the same instruction in the hand-written test sentences
(``tse2/cues/handwritten/remix.txt``).
Everything is drawn from a ``numpy`` generator: the same seed gives the same instruction.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

GAINS = {"remove": 0.0, "keep": 1.0, "up": 2.0, "down": 0.5}
TASKS = ("TSE", "TSR", "TSU", "TSD", "TAE", "TAR", "TAU", "TAD",
         "SE", "SR", "SU", "SD", "ME", "MVC", "MEVC", "OVC")
TASK_LABELS = {"TSE": "TSE", "TSR": "TSR", "TSU": "TS↑", "TSD": "TS↓", "TAE": "TAE", "TAR": "TAR",
               "TAU": "TA↑", "TAD": "TA↓", "SE": "SE", "SR": "SR", "SU": "S↑", "SD": "S↓",
               "ME": "ME", "MVC": "MVC", "MEVC": "MEVC", "OVC": "OVC"}
SPEECH, AUDIO = "speech", "audio"


@dataclass(frozen=True)
class Source:
    """One source of a mixture as prompts may name it.

    ``kind`` is ``speech`` or ``audio``; a speech source has ``gender`` (``f``/``m``) and ``style``
    (a style of :mod:`tse2.corpus.styles`); an audio source has ``category``."""

    kind: str
    gender: str = ""
    style: str = ""
    category: str = ""


def classify(gains: Sequence[float], kinds: Sequence[str]) -> Optional[str]:
    """The Table I task of a gain vector, or None for the identity and for silence.

    Precedence follows the paper's zero-shot table: a whole-mixture change is OVC; a change that
    treats all speech one way and all audio another is a speech task (SE/SR/SU/SD); one source
    singled out is a target task; the rest are ME, MVC or MEVC by the gains they use."""
    g = [float(x) for x in gains]
    if len(g) != len(kinds) or not g:
        raise ValueError(f"{len(g)} gains for {len(kinds)} sources")
    if len(set(g)) == 1:
        return None if g[0] in (0.0, 1.0) else "OVC"
    speech = [x for x, k in zip(g, kinds) if k == SPEECH]
    audio = [x for x, k in zip(g, kinds) if k == AUDIO]
    if speech and audio and len(set(speech)) == 1 and len(set(audio)) == 1:
        pair = (speech[0], audio[0])
        group = {(1.0, 0.0): "SE", (0.0, 1.0): "SR", (2.0, 1.0): "SU", (0.5, 1.0): "SD"}.get(pair)
        if group:
            return group
    for i, (x, k) in enumerate(zip(g, kinds)):
        rest = g[:i] + g[i + 1:]
        letter = "S" if k == SPEECH else "A"
        if x == 1.0 and all(r == 0.0 for r in rest):
            return f"T{letter}E"
    for i, (x, k) in enumerate(zip(g, kinds)):
        rest = g[:i] + g[i + 1:]
        letter = "S" if k == SPEECH else "A"
        if all(r == 1.0 for r in rest):
            return {0.0: f"T{letter}R", 2.0: f"T{letter}U", 0.5: f"T{letter}D"}[x]
    used = set(g)
    if used <= {0.0, 1.0}:
        return "ME"
    if used <= {0.5, 1.0, 2.0}:
        return "MVC"
    return "MEVC"


def task_patterns(kinds: Sequence[str]) -> Dict[str, List[Tuple[float, ...]]]:
    """Every gain vector of the mixture's composition, grouped by the task it belongs to.  A target
    task of a kind needs two sources of that kind (with one, it is the speech task, as in the
    paper's zero-shot table)."""
    n_s = sum(k == SPEECH for k in kinds)
    n_a = sum(k == AUDIO for k in kinds)
    out: Dict[str, List[Tuple[float, ...]]] = {}
    for p in itertools.product(sorted(GAINS.values()), repeat=len(kinds)):
        t = classify(p, kinds)
        if t is None or (t[:2] == "TS" and n_s < 2) or (t[:2] == "TA" and n_a < 2):
            continue
        out.setdefault(t, []).append(p)
    return out


def available_tasks(kinds: Sequence[str]) -> List[str]:
    pats = task_patterns(kinds)
    return [t for t in TASKS if t in pats]


def remix_target(sources: np.ndarray, gains: Sequence[float]) -> np.ndarray:
    """``sum_i g_i s_i`` of (N, T) sources."""
    sources = np.asarray(sources)
    g = np.asarray(gains, dtype=sources.dtype)
    if sources.ndim != 2 or sources.shape[0] != len(g):
        raise ValueError(f"need (N, T) sources for {len(g)} gains, got {sources.shape}")
    return (g[:, None] * sources).sum(0)


# --- words -----------------------------------------------------------------------------------

GENDER_NOUNS = {"f": ("woman", "female speaker", "lady", "woman's voice"),
                "m": ("man", "male speaker", "gentleman", "man's voice")}
GENDER_NOUNS_HELD_OUT = {"f": ("female voice", "female talker"), "m": ("male voice", "male talker")}
NEUTRAL_NOUNS = ("speaker", "voice", "talker", "person speaking")
NEUTRAL_NOUNS_HELD_OUT = ("narrator",)
# per style: adjectives before the noun, phrases after it
STYLE_WORDS = {
    "neutral": (("calm", "neutral", "composed"), ("who sounds calm", "speaking calmly")),
    "happy": (("happy", "cheerful", "excited"), ("who sounds happy", "speaking cheerfully")),
    "sad": (("sad", "unhappy", "gloomy"), ("who sounds sad", "speaking sadly")),
    "angry": (("angry", "furious", "annoyed"), ("who sounds angry", "shouting angrily")),
    "whispered": (("whispering", "breathy"), ("who is whispering", "speaking in a whisper")),
    "fast": (("fast-talking", "rapid"), ("speaking fast", "talking quickly")),
    "slow": (("slow-talking", "slow"), ("speaking slowly", "talking at a slow pace")),
    "high-pitched": (("high-pitched", "high-voiced"), ("with the high voice", "with the higher pitch")),
    "low-pitched": (("low-pitched", "deep-voiced"), ("with the deep voice", "with the lower pitch")),
    # the paper corpus's emotions (TextrolSpeech; tse2.corpus.remix_corpora); not in the embedded one
    "surprised": (("surprised", "astonished"), ("who sounds surprised", "speaking in surprise")),
    "fearful": (("frightened", "scared"), ("who sounds afraid", "speaking fearfully")),
    "disgusted": (("disgusted", "repulsed"), ("who sounds disgusted", "speaking with disgust")),
    "contemptuous": (("contemptuous", "scornful"), ("who sounds contemptuous", "speaking with scorn")),
}
STYLE_WORDS_HELD_OUT = {
    "neutral": (("even-toned",), ("who sounds relaxed",)),
    "happy": (("joyful",), ("who sounds delighted",)),
    "sad": (("sorrowful",), ("who sounds miserable",)),
    "angry": (("irritated",), ("who sounds mad",)),
    "whispered": (("hushed",), ("speaking under their breath",)),
    "fast": (("hurried",), ("speaking in a rush",)),
    "slow": (("unhurried",), ("dragging their words",)),
    "high-pitched": (("squeaky",), ("with the shrill voice",)),
    "low-pitched": (("bass-voiced",), ("with the booming voice",)),
    "surprised": (("startled",), ("who sounds amazed",)),
    "fearful": (("terrified",), ("who sounds nervous",)),
    "disgusted": (("revolted",), ("who sounds grossed out",)),
    "contemptuous": (("disdainful",), ("who sounds dismissive",)),
}
SPEECH_GROUP = ("the speech", "the voices", "all the speakers", "the people talking", "the conversation")
SPEECH_GROUP_HELD_OUT = ("the dialogue", "the human voices")
AUDIO_GROUP = ("the background sounds", "the noise", "the non-speech sounds", "the sound effects")
AUDIO_GROUP_HELD_OUT = ("the ambient noise", "everything that is not a voice")
EVERYTHING = ("everything", "the whole recording", "the mixture", "all the sounds")
EVERYTHING_HELD_OUT = ("the entire clip",)

VERBS = {
    "extract": ("extract {x}", "keep only {x}", "I only want to hear {x}", "isolate {x}", "pull out {x}",
                "get rid of everything except {x}"),
    "remove": ("remove {x}", "get rid of {x}", "mute {x}", "take out {x}", "cut {x}", "I don't want to hear {x}"),
    "up": ("turn up {x}", "make {x} louder", "increase the volume of {x}", "boost {x}", "amplify {x}"),
    "down": ("turn down {x}", "make {x} quieter", "lower the volume of {x}", "reduce {x}", "soften {x}"),
}
# the held-out verb frames, openers and joiners are the prompt-variety engine's held-out grammar
# (tse2.cues.variety.REMIX_GRAMMARS["heldout"]): held_out=True writes prompts in it
# Words people use for each action that the generator never writes: the prompt reader
# (tse2.inference.remix.read_prompt) accepts them too.  (regular expression, priority: a longer
# match of a higher priority wins an overlap, e.g. "everything stays except" over "except")
FREE_ACTIONS = {
    "extract": ((r"\b(?:only|just)\s+(?:the|a|an|that|those|this|these|his|her|their)\b", 4),
                (r"\b(?:i|we)\s+(?:just\s+|only\s+)?(?:want|need)\b(?!\s+(?:to\s+(?:remove|lower|reduce|mute|cut|turn|raise|boost|hear\s+less)))", 6), (r"\bsolo\b", 4), (r"\bkeep\b", 4), (r"\balone\b", 5),
                (r"\bby\s+(?:it|them)sel(?:f|ves)\b", 12), (r"\bon\s+(?:its|their)\s+own\b", 10),
                (r"\bnothing\s+(?:else\s+)?but\b", 11), (r"\b(?:everything|all)\s+(?:but|except)\b", 14),
                (r"\bstrip\b.{0,60}?\bdown\s+to\b", 14)),
    "remove": ((r"\bdelete\b", 6), (r"\blose\b", 4), (r"\bkill\b", 4), (r"\bdrop\b", 4), (r"\bwithout\b", 7),
               (r"\bno\s+more\b", 7), (r"\bdisappear\b", 9), (r"\bfilter\s+out\b", 10), (r"\bthrow\s+away\b", 10),
               (r"\btake\b.{0,60}?\baway\b", 9), (r"\bget\b.{0,60}?\bout\s+of\b", 9),
               (r"\b(?:stays?|remains?)\s+except\b", 16), (r"\b(?:don't|do\s+not)\s+want\b", 13)),
    "up": ((r"\blouder\b", 6), (r"\bboost\b", 5), (r"\bcrank\b.{0,60}?\bup\b", 8), (r"\bpump\b.{0,60}?\bup\b", 8),
           (r"\braise\b", 5), (r"\bmore\s+of\b", 7), (r"\bstand\s+out\b", 9), (r"\beasier\s+to\s+hear\b", 14),
           (r"\bbring\b.{0,60}?\bup\b", 8), (r"\bamplify\b", 7)),
    "down": ((r"\bquieter\b", 7), (r"\bsofter\b", 6), (r"\blower\b(?![\s-]+(?:pitch|pitched|voice|voiced)\b)", 5), (r"\breduce\b", 6), (r"\bless\s+of\b", 7),
             (r"\bdial\b.{0,60}?\bback\b", 9), (r"\btone\b.{0,60}?\bdown\b", 9), (r"\bbring\b.{0,60}?\bdown\b", 10),
             (r"\btoo\s+loud\b", 8), (r"\b(?:further|farther)\s+back\b", 12), (r"\bsoften\b", 6)),
}
# words for all the voices, all the other sounds and the whole mix that the generator never writes
FREE_GROUPS = ("people", "voices", "talking", "chatter", "humans", "speakers", "speaking", "background", "noises",
               "noise", "sounds", "effects", "everything", "whole", "all of it", "mix", "recording", "track")
NEGATED_ACTION = r"(?:don't|do\s+not|never|not|no\s+need\s+to)\s+(?:\w+\s+){0,2}$"

OPENERS = ("", "", "please ", "could you ", "can you ", "hey, ")


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def speaker_phrase(src: Source, others: Sequence[Source], rng: np.random.Generator, held_out: bool = False) -> str:
    """Names a speech source by what tells it apart from the other speech sources of the mixture:
    its gender, its style, or both (only words that are true of it and of no other)."""
    by_gender = all(o.gender != src.gender for o in others) and src.gender in ("f", "m")
    by_style = all(o.style != src.style for o in others) and src.style in STYLE_WORDS
    if not (by_gender or by_style):
        raise ValueError(f"speaker {src} cannot be told apart from {list(others)} by gender or style")
    options = [c for c, ok in (("gender", by_gender), ("style", by_style), ("both", by_gender and by_style)) if ok]
    how = _pick(rng, options)
    nouns = (GENDER_NOUNS_HELD_OUT if held_out else GENDER_NOUNS).get(src.gender, ()) if how != "style" else \
        (NEUTRAL_NOUNS_HELD_OUT if held_out else NEUTRAL_NOUNS)
    if how == "style" and src.gender in ("f", "m") and rng.random() < 0.3:
        nouns = (GENDER_NOUNS_HELD_OUT if held_out else GENDER_NOUNS)[src.gender]  # true, if not needed
    noun = _pick(rng, nouns)
    if how == "gender":
        return f"the {noun}"
    adjectives, phrases = (STYLE_WORDS_HELD_OUT if held_out else STYLE_WORDS)[src.style]
    if rng.random() < 0.5:
        return f"the {_pick(rng, adjectives)} {noun}"
    return f"the {noun} {_pick(rng, phrases)}"


def source_phrase(i: int, sources: Sequence[Source], rng: np.random.Generator, held_out: bool = False) -> str:
    from tse2.corpus.sounds import category_words

    src = sources[i]
    if src.kind == SPEECH:
        others = [s for j, s in enumerate(sources) if j != i and s.kind == SPEECH]
        return speaker_phrase(src, others, rng, held_out)
    return _pick(rng, category_words(src.category, held_out))


def _join(items: List[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass
class Instruction:
    task: str
    gains: Tuple[float, ...]
    prompt: str


def _action_items(task: str, gains: Sequence[float], sources: Sequence[Source], rng: np.random.Generator,
                  held_out: bool) -> Tuple[List[Tuple[str, str]], bool]:
    """([(action, the words for what it acts on)], whether the clauses are shuffled) of an
    instruction: one item, or one per action of a multi-action one."""
    group = {"SE": ("extract", SPEECH), "SR": ("remove", SPEECH), "SU": ("up", SPEECH), "SD": ("down", SPEECH)}
    if task == "OVC":
        return [("up" if gains[0] > 1 else "down", _pick(rng, EVERYTHING_HELD_OUT if held_out else EVERYTHING))], False
    if task in group:
        action, _ = group[task]
        speech_words = SPEECH_GROUP_HELD_OUT if held_out else SPEECH_GROUP
        audio_words = AUDIO_GROUP_HELD_OUT if held_out else AUDIO_GROUP
        if task == "SE" and rng.random() < 0.3:
            return [("remove", _pick(rng, audio_words))], False
        if task == "SR" and rng.random() < 0.3:
            return [("extract", _pick(rng, audio_words))], False
        return [(action, _pick(rng, speech_words))], False
    if task in ("TSE", "TAE") or (task == "ME" and rng.random() < 0.5):
        kept = [source_phrase(i, sources, rng, held_out) for i, g in enumerate(gains) if g == 1.0]
        return [("extract", _join(kept))], False
    by_action: Dict[str, List[str]] = {}
    for i, g in enumerate(gains):
        if g != 1.0:
            action = {0.0: "remove", 2.0: "up", 0.5: "down"}[float(g)]
            by_action.setdefault(action, []).append(source_phrase(i, sources, rng, held_out))
    return [(a, _join(xs)) for a, xs in by_action.items()], True


def write_prompt(task: str, gains: Sequence[float], sources: Sequence[Source], rng: np.random.Generator,
                 held_out: bool = False, engine: Optional[str] = None) -> str:
    """A prompt that says ``gains`` for ``sources`` (of ``task``) in words: from the templates, or
    from the prompt-variety engine's ``engine`` grammar (``train``, or ``heldout``: ``held_out=True``
    means it, with the held-out words for the sources).  An engine draw that says a hand-written
    test sentence word for word is drawn again."""
    from tse2.cues.variety import remix_clause, remix_sentence, unlike_handwritten

    if held_out:
        engine = "heldout"
    items, shuffled = _action_items(task, gains, sources, rng, engine == "heldout")
    if engine is not None:
        def draw() -> str:
            ordered = [items[k] for k in rng.permutation(len(items))] if shuffled else items
            clauses = [remix_clause(a, x, rng, engine, verb_first=k > 0) for k, (a, x) in enumerate(ordered)]
            return remix_sentence(clauses, rng, engine)

        return unlike_handwritten(draw, "remix", f"the {engine} grammar says only hand-written test sentences "
                                                 f"for {task} {list(gains)}")
    clauses = [_pick(rng, VERBS[a]).format(x=x) for a, x in items]
    if shuffled:
        order = rng.permutation(len(clauses))
        clauses = [clauses[k] for k in order]
    body = _join(clauses)
    opener = _pick(rng, OPENERS)
    if opener.startswith(("could", "can", "would")) and not body.startswith("I "):
        text = f"{opener}{body}?"
    else:
        text = f"{opener}{body}{_pick(rng, ('.', '', '!', ' please.'))}"
    return text[0].upper() + text[1:]


def handwritten_prompt(task: str, gains: Sequence[float], sources: Sequence[Source],
                       rng: np.random.Generator) -> str:
    """A prompt that says ``gains`` for ``sources`` (of ``task``) in the hand-written sentences of
    ``tse2/cues/handwritten/remix.txt`` (test only: no training prompt comes from them).  Sources
    are named with the training words (:func:`source_phrase`), so that this phrasing differs from
    the training one in its sentences only; an instruction with two actions joins two of them."""
    from tse2.cues.handwritten import fill, shipped

    book = shipped("remix")

    def sentence(action: str, x: str, question: bool = True) -> str:
        frames = book[action] if question else [f for f in book[action] if not f.endswith("?")] or book[action]
        return fill(_pick(rng, frames), x=x)

    if task == "OVC":
        return sentence("up" if gains[0] > 1 else "down", _pick(rng, book["everything"]))
    group = {"SE": "extract", "SR": "remove", "SU": "up", "SD": "down"}
    if task in group:
        if task == "SE" and rng.random() < 0.3:
            return sentence("remove", _pick(rng, book["sounds"]))
        if task == "SR" and rng.random() < 0.3:
            return sentence("extract", _pick(rng, book["sounds"]))
        return sentence(group[task], _pick(rng, book["speech"]))
    if task in ("TSE", "TAE") or (task == "ME" and rng.random() < 0.5):
        return sentence("extract", _join([source_phrase(i, sources, rng) for i, g in enumerate(gains) if g == 1.0]))
    by_action: Dict[str, List[str]] = {}
    for i, g in enumerate(gains):
        if g != 1.0:
            action = {0.0: "remove", 2.0: "up", 0.5: "down"}[float(g)]
            by_action.setdefault(action, []).append(source_phrase(i, sources, rng))
    clauses = [sentence(a, _join(xs), question=len(by_action) == 1) for a, xs in by_action.items()]
    if len(clauses) == 1:
        return clauses[0]
    order = rng.permutation(len(clauses))
    parts = [clauses[k].rstrip(".!?") for k in order]
    parts[1:] = [p if p.startswith("I ") else p[0].lower() + p[1:] for p in parts[1:]]
    return "; ".join(parts) + "."


def sample_instruction(sources: Sequence[Source], rng: np.random.Generator, task: Optional[str] = None,
                       held_out: bool = False, tasks: Optional[Sequence[str]] = None,
                       variety: float = 0.0) -> Instruction:
    """Draws a task (uniformly among those the composition allows, or ``task``), one of its gain
    vectors, and a prompt for it: with probability ``variety`` from the prompt-variety engine's
    training grammar (:mod:`tse2.cues.variety`), else from the templates."""
    kinds = [s.kind for s in sources]
    pats = task_patterns(kinds)
    pool = [t for t in (tasks or TASKS) if t in pats]
    if task is None:
        if not pool:
            raise ValueError(f"no remixing task for a mixture of {kinds}")
        task = _pick(rng, pool)
    elif task not in pats:
        raise ValueError(f"task {task} does not exist for a mixture of {kinds} (available: {available_tasks(kinds)})")
    gains = pats[task][int(rng.integers(len(pats[task])))]
    engine = "train" if variety > 0 and not held_out and rng.random() < variety else None
    return Instruction(task, tuple(gains), write_prompt(task, gains, sources, rng, held_out, engine))


# --- prompts that name a source the mixture does not have ------------------------------------

# An instruction about a source that is not there: "extract the dog" has silence as its answer,
# and removing, raising or lowering it leaves the mixture as it is.  These are not tasks of the
# paper's Table I; training on some of them teaches the remixer to answer "nothing" instead of
# passing another source off as the one asked for (the remix CLI then reports it absent).
ABSENT_TASKS = ("ABSE", "ABSR", "ABSU", "ABSD")
ABSENT_ACTIONS = {"ABSE": "extract", "ABSR": "remove", "ABSU": "up", "ABSD": "down"}
TASK_LABELS.update({"ABSE": "∅E", "ABSR": "∅R", "ABSU": "∅↑", "ABSD": "∅↓"})


def absent_source(sources: Sequence[Source], rng: np.random.Generator, categories: Sequence[str],
                  kind: Optional[str] = None) -> Optional[Source]:
    """A source that no source of the mixture is: a sound category of ``categories`` it lacks, or
    a speaker of a gender none of its speakers has; ``kind`` is tried first (default: audio), then
    the other.  Speakers are named absent by gender only: a style ("the whispering voice") is a
    weaker cue than a missing category and would teach the remixer to doubt styles that are there.
    None when neither kind has such a source."""
    first = kind or AUDIO
    for k in [first] + [x for x in (AUDIO, SPEECH) if x != first]:
        if k == AUDIO:
            present = {s.category for s in sources if s.kind == AUDIO}
            left = [c for c in categories if c not in present]
            if left:
                return Source(AUDIO, category=_pick(rng, left))
        elif k == SPEECH:
            genders = {s.gender for s in sources if s.kind == SPEECH}
            if len(genders) == 1 and genders <= {"f", "m"}:
                return Source(SPEECH, gender="m" if genders == {"f"} else "f")
        else:
            raise ValueError(f"unknown source kind {k!r}")
    return None


def absent_instruction(sources: Sequence[Source], absent: Source, rng: np.random.Generator,
                       task: Optional[str] = None, held_out: bool = False, handwritten: bool = False) -> Instruction:
    """An instruction of ``task`` (one of :data:`ABSENT_TASKS`, else drawn: extraction half the
    time) about ``absent``, a source not in the mixture.  Its gains are those of the real sources:
    all 0 for extraction (the answer is silence), all 1 otherwise (the mixture unchanged).
    ``handwritten``: in the hand-written sentences (:func:`handwritten_prompt`)."""
    if task is None:
        task = "ABSE" if rng.random() < 0.5 else _pick(rng, ABSENT_TASKS[1:])
    if task not in ABSENT_ACTIONS:
        raise ValueError(f"unknown absent-source task {task!r}; known: {list(ABSENT_TASKS)}")
    action = ABSENT_ACTIONS[task]
    n = len(sources)
    letter = "S" if absent.kind == SPEECH else "A"
    shown = list(sources) + [absent]
    if action == "extract":
        gains, prompt_gains, as_task = (0.0,) * n, (0.0,) * n + (1.0,), f"T{letter}E"
    else:
        gains, as_task = (1.0,) * n, {"remove": f"T{letter}R", "up": f"T{letter}U", "down": f"T{letter}D"}[action]
        prompt_gains = (1.0,) * n + (GAINS[action],)
    if handwritten:
        return Instruction(task, gains, handwritten_prompt(as_task, prompt_gains, shown, rng))
    return Instruction(task, gains, write_prompt(as_task, prompt_gains, shown, rng, held_out))
