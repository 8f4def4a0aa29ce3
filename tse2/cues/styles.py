"""Style prompts: templates x descriptive phrases, the paper's prompt augmentation.

A prompt is a template with one slot filled by one phrase of the style ("Someone {} ." with
"speaking in a whisper"). In training every example draws a new (template, phrase) pair from
the *training* sets; the held-out templates and phrases are used only at test time, so the
scoring stage can report phrasings the model never saw. Phrases are written as verb phrases so
that every template reads as a sentence.

The table covers the 13 embedded styles and the paper's 22 (``tse2.corpus.expressive.PAPER_STYLES``); a recipe with other styles passes its own vocabulary as JSON
(``{"templates": {"train": [...], "heldout": [...]}, "phrases": {style: {"train": [...],
"heldout": [...]}}}``).
"""

import json
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

TEMPLATES = {
    "train": [
        "someone {}.", "a person {}.", "a speaker {}.", "find the utterances where someone {}.",
        "a recording of a person who {}.", "the voice of someone who {}.", "a clip where the speaker {}.",
        "I want speech from someone who {}.", "give me a voice that {}.", "somebody {}.",
        "an utterance in which the talker {}.",
    ],
    "heldout": [
        "show me audio where somebody {}.", "which recordings have a speaker who {}?",
        "a sample of a talker that {}.", "look for a voice which {}.",
    ],
}

PHRASES: Dict[str, Dict[str, List[str]]] = {
    "neutral": {"train": ["speaks in a neutral tone", "talks calmly and plainly", "speaks without emotion",
                          "sounds ordinary and matter-of-fact", "reads in a normal voice"],
                "heldout": ["sounds completely unremarkable", "talks in an everyday flat manner"]},
    "happy": {"train": ["sounds happy", "speaks cheerfully", "talks with joy", "sounds delighted and bright",
                        "speaks in an upbeat voice"],
              "heldout": ["sounds thrilled about something", "is in a great mood"]},
    "sad": {"train": ["sounds sad", "speaks sorrowfully", "talks in a gloomy voice", "sounds unhappy and down",
                      "speaks with a heavy heart"],
            "heldout": ["sounds like they are about to cry", "sounds miserable and depressed"]},
    "angry": {"train": ["sounds angry", "speaks furiously", "talks in a rage", "sounds irritated and harsh",
                        "speaks with hostility"],
              "heldout": ["is really mad at someone", "sounds annoyed and aggressive"]},
    "whispered": {"train": ["whispers", "speaks in a whisper", "talks under their breath", "murmurs breathily",
                            "speaks with no voice, only breath"],
                  "heldout": ["tells a secret very quietly without voicing", "is hushed and breathy"]},
    "fast": {"train": ["speaks fast", "talks very quickly", "speaks at a rapid pace", "rushes through the words",
                       "talks at high speed"],
             "heldout": ["is speed talking", "races through the sentence"]},
    "slow": {"train": ["speaks slowly", "talks at a slow pace", "drags out the words", "speaks very leisurely",
                       "talks unhurriedly"],
             "heldout": ["takes a long time to say each word", "is talking at a crawl"]},
    "loud": {"train": ["speaks loudly", "talks in a loud voice", "is very loud", "projects the voice strongly",
                       "speaks at high volume"],
             "heldout": ["is almost shouting", "booms out the words"]},
    "soft": {"train": ["speaks softly", "talks quietly", "speaks in a low volume", "is barely audible",
                       "speaks gently and faintly"],
             "heldout": ["can hardly be heard", "keeps the volume way down"]},
    "high-pitched": {"train": ["has a high-pitched voice", "speaks in a high pitch", "talks in a squeaky voice",
                               "speaks with a very high tone", "uses a shrill voice"],
                     "heldout": ["sounds piercing and high", "talks way up in a high register"]},
    "low-pitched": {"train": ["has a low-pitched voice", "speaks in a deep voice", "talks in a low pitch",
                              "speaks with a very low tone", "uses a bass voice"],
                    "heldout": ["sounds deep and rumbling", "talks way down in a low register"]},
    "monotone": {"train": ["speaks in a monotone", "talks with a flat pitch", "speaks without intonation",
                           "drones on in one tone", "sounds robotic and level"],
                 "heldout": ["never changes pitch at all", "has no melody in the voice"]},
    "enunciated": {"train": ["enunciates every word", "speaks word by word", "articulates each word separately",
                             "pauses between all the words", "speaks very deliberately"],
                   "heldout": ["pronounces each word on its own", "spells out the sentence one word at a time"]},
    "surprised": {"train": ["sounds surprised", "speaks in astonishment", "talks with amazement",
                            "sounds startled", "sounds shocked"],
                  "heldout": ["can't believe what just happened", "sounds taken aback"]},
    "frustrated": {"train": ["sounds frustrated", "speaks in exasperation", "talks with frustration",
                             "sounds fed up", "sounds exasperated"],
                   "heldout": ["has had enough of it", "is at the end of their patience"]},
    "excited": {"train": ["sounds excited", "speaks with excitement", "talks eagerly", "sounds thrilled",
                          "sounds enthusiastic"],
                "heldout": ["can barely contain their excitement", "is buzzing with energy"]},
    "confused": {"train": ["sounds confused", "speaks in a puzzled way", "talks with confusion",
                           "sounds uncertain", "sounds bewildered"],
                 "heldout": ["has no idea what is going on", "sounds lost"]},
    "disgusted": {"train": ["sounds disgusted", "speaks with disgust", "talks in revulsion", "sounds grossed out",
                            "sounds repulsed"],
                  "heldout": ["finds something revolting", "sounds sickened"]},
    "fearful": {"train": ["sounds afraid", "speaks fearfully", "talks in a scared voice", "sounds frightened",
                          "sounds terrified"],
                "heldout": ["is scared out of their wits", "sounds anxious and panicked"]},
    "laughing": {"train": ["laughs while speaking", "speaks through laughter", "talks while giggling",
                           "chuckles while talking", "sounds amused and laughing"],
                 "heldout": ["cracks up mid sentence", "can't stop laughing"]},
    "sympathetic": {"train": ["sounds sympathetic", "speaks with compassion", "talks in a caring voice",
                              "sounds understanding", "sounds kind and consoling"],
                    "heldout": ["is comforting someone", "sounds warm and supportive"]},
    "sleepy": {"train": ["sounds sleepy", "speaks drowsily", "talks in a tired voice", "sounds exhausted",
                         "sounds half asleep"],
               "heldout": ["can barely stay awake", "sounds like they just woke up"]},
    "sarcastic": {"train": ["sounds sarcastic", "speaks sarcastically", "talks with irony", "sounds mocking",
                            "sounds snide"],
                  "heldout": ["doesn't mean a word of it", "says the opposite of what they mean"]},
    "awe": {"train": ["sounds in awe", "speaks with wonder", "talks in amazement at something grand",
                      "sounds reverent and amazed", "sounds awestruck"],
            "heldout": ["is blown away by what they see", "sounds filled with wonder"]},
    "bored": {"train": ["sounds bored", "speaks with boredom", "talks in an uninterested voice",
                        "sounds weary and uninterested", "sounds indifferent"],
              "heldout": ["couldn't care less", "sounds like nothing interests them"]},
    "calm": {"train": ["sounds calm", "speaks serenely", "talks in a relaxed voice", "sounds peaceful",
                       "speaks with composure"],
             "heldout": ["is completely at ease", "sounds tranquil and unbothered"]},
    "desire": {"train": ["sounds full of desire", "speaks longingly", "talks with yearning", "sounds seductive",
                         "speaks with passion"],
               "heldout": ["really wants something badly", "sounds like they crave it"]},
    "projected": {"train": ["projects the voice", "speaks to a large room", "talks as if to a crowd far away",
                            "speaks with a carrying voice", "addresses an audience loudly"],
                  "heldout": ["is making sure the back row hears", "speaks as if on a stage"]},
}
FIXED_TEMPLATE = "speech that is {}."  # the paper's no-augmentation prompt, with the style label


class StyleVocab:
    """The prompt vocabulary for a set of styles."""

    def __init__(self, templates: Mapping[str, Sequence[str]], phrases: Mapping[str, Mapping[str, Sequence[str]]],
                 styles: Sequence[str]) -> None:
        self.templates = {k: list(templates[k]) for k in ("train", "heldout")}
        self.styles = list(styles)
        missing = [s for s in self.styles if s not in phrases]
        if missing:
            raise ValueError(f"no prompt phrases for styles {missing}; give them in a --style_vocab JSON")
        self.phrases = {s: {k: list(phrases[s][k]) for k in ("train", "heldout")} for s in self.styles}
        for t in self.templates["train"] + self.templates["heldout"]:
            if t.count("{}") != 1:
                raise ValueError(f"prompt template {t!r} must have exactly one {{}} slot")

    @classmethod
    def load(cls, styles: Sequence[str], path: Optional[str] = None) -> "StyleVocab":
        if not path:
            return cls(TEMPLATES, PHRASES, styles)
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(d.get("templates", TEMPLATES), {**PHRASES, **d.get("phrases", {})}, styles)
        except (OSError, json.JSONDecodeError, KeyError) as e:
            raise ValueError(f"{path}: not a style vocabulary ({e})") from None

    def prompts(self, style: str, part: str = "train") -> List[str]:
        """Every template x phrase of ``part`` ("train" or "heldout")."""
        return [t.format(p) for t in self.templates[part] for p in self.phrases[style][part]]

    def fixed(self, style: str) -> str:
        """The one prompt used when prompt augmentation is off (the paper's: the label itself)."""
        return FIXED_TEMPLATE.format(style.replace("-", " "))

    def sample(self, style: str, rng: np.random.Generator, variety: float = 0.0) -> str:
        """A training prompt: a template x phrase, or (with probability ``variety``, where the
        style has words in :mod:`tse2.cues.variety`) a query of the variety engine's training grammar."""
        if variety and rng.random() < variety:
            from tse2.cues.variety import has_words, style_query

            if has_words(style):
                return style_query(style, rng, "train", {s: self.phrases[s] for s in self.styles})
        t = self.templates["train"][int(rng.integers(len(self.templates["train"])))]
        ph = self.phrases[style]["train"]
        return t.format(ph[int(rng.integers(len(ph)))])

    def to_json(self) -> str:
        return json.dumps({"templates": self.templates, "phrases": self.phrases}, indent=1, ensure_ascii=False)


# styles one voice cannot have at once (a query naming both is contradictory)
OPPOSITES = (
    ("fast", r"\b(?:fast|quick(?:ly)?|rapid(?:ly)?|hurried(?:ly)?)\b", "slow", r"\bslow(?:ly)?\b"),
    ("loud", r"\b(?:loud(?:ly)?|shout(?:s|ing)?)\b", "soft", r"\b(?:soft(?:ly)?|quiet(?:ly)?)\b"),
    ("high-pitched", r"\bhigh(?:er)?[- ](?:pitch(?:ed)?|voiced?)\b", "low-pitched",
     r"\b(?:low(?:er)?[- ](?:pitch(?:ed)?|voiced?)|deep(?:er)?\s+voice)\b"),
    ("happy", r"\b(?:happy|happily|cheerful(?:ly)?|joyful(?:ly)?)\b", "sad", r"\b(?:sad(?:ly)?|sorrowful(?:ly)?)\b"),
)
STOPWORDS = frozenset("""a an the and or of in on at to for with without who that which what where when is are
was be been being it its this these those their they them someone somebody person people speaker speakers
talker voice voices speech audio recording recordings clip clips utterance utterances sample find give show
me i want look some any very really""".split())


def _stem(word: str) -> str:
    """A crude English stem, enough to match "whispering" to "whispers" and "sadly" to "sad"."""
    for suffix in ("ingly", "edly", "ing", "ly", "ed", "es", "er", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[:-len(suffix)]
    return word


def query_problems(query: str, phrases: Optional[Mapping[str, Mapping[str, Sequence[str]]]] = None) -> List[str]:
    """What a user should hear about a retrieval query before trusting its ranking: it shares no
    word with the style vocabulary (``phrases``, default :data:`PHRASES`, and the style names), or it
    names two styles one voice cannot have at once ("fast and slow"; words under a negation, as in
    "fast, not slow", do not count)."""
    import re

    from tse2.cues.parse import _negated_spans

    phrases = PHRASES if phrases is None else phrases
    text = " ".join(str(query).lower().split())
    vocab = {w for style, sets in phrases.items() for w in re.findall(r"[a-z]+", style)}
    vocab |= {w for sets in phrases.values() for ps in sets.values() for p in ps for w in re.findall(r"[a-z]+", p)}
    stems = {_stem(w) for w in vocab - STOPWORDS}
    words = {_stem(w) for w in set(re.findall(r"[a-z]+", text)) - STOPWORDS}
    problems = []
    if not words & stems:
        problems.append("it shares no word with the styles the model was trained on "
                        f"({', '.join(sorted(phrases)[:12])}, ...): the ranking is a guess")
    negated = _negated_spans(text)

    def said(pat: str) -> bool:
        return any(not any(a <= m.start() < b for a, b in negated) for m in re.finditer(pat, text))

    for name_a, pat_a, name_b, pat_b in OPPOSITES:
        if said(pat_a) and said(pat_b):
            problems.append(f"it asks for both {name_a} and {name_b} speech: contradictory")
    return problems
