"""Cue words of a prompt: the inverse of :mod:`tse2.cues.prompts`, for the training-free selector
and for the checks that tell a user how a prompt was read.

Every cue vocabulary of stage 4 is understood: the relative words of the continuous cues
("higher pitch", "louder", "starts speaking first"), their independent words ("high pitch",
"fast speaking rate"), and the discrete cues (gender words, language names, emotions, a quoted
transcription).  A :class:`CueRelation` says which way the target differs: ``direction`` +1 when
the target has the larger value (higher, louder, later onset), −1 when the smaller, 0 when the
words are not discriminative ("similar", "same", "normal") or the cue is discrete (then ``value``
says which: ``f``/``m`` for gender, the language name).

Free wording is read too (:data:`LEXICON`): synonyms and comparatives ("deeper", "squeakier",
"booming", "hushed", "more quickly", "more expressive", "more distant"), superlatives ("the
loudest"), pronouns and gender nouns ("her", "him", "the guy", "the lady"), clauses ("whoever
varies their pitch more", "who talks for longer", "who starts before the other", "who joins in
later"), questions ("Who speaks first? Give me that person.") and negation: a cue word after
"not", "rather than", "except", "drop", "get rid of", ... up to the end of its clause says what
the target is *not* ("not the deeper one" → the higher pitch; "not the guy" → the woman).  A cue
said both ways keeps the affirmed word ("the louder one, not the quieter").  ``word`` is the
word that decided, for messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

from tse2.cues.labels import BY_NAME, CONTINUOUS
from tse2.cues.prompts import GENDER_WORDS, LANGUAGE_NAMES


class PromptParseError(ValueError):
    """A prompt holds no cue word the selector understands."""


@dataclass(frozen=True)
class CueRelation:
    cue: str  # cue name of stage 4 ("pitch", "temporal order", "gender", ...)
    word: str  # the word that was matched (the one that decided)
    direction: int  # +1 target larger, -1 target smaller, 0 not discriminative / discrete
    value: Optional[str] = None  # discrete cues: "f"/"m" (gender), the language name; None otherwise
    negated: bool = False  # the word was said of the other talker ("not the deeper one")


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
# Words that name their cue on their own ("the louder speaker", "who speaks faster", "the deeper one").
STANDALONE: Dict[str, Tuple[str, ...]] = {
    "loudness": ("louder", "quieter", "softer", "loud", "quiet", "soft", "loudest", "quietest", "softest",
                 "hushed", "fainter", "stronger", "thunderous", "blaring", "muted", "subdued"),
    "speaking rate": ("faster", "slower", "fastest", "slowest", "quicker", "quickest", "quickly", "rapidly",
                      "hurried", "slowly", "unhurried", "leisurely", "speedier", "brisker", "hastier", "draggier",
                      "plodding", "drawls"),
    "speaking duration": ("briefer", "longer-winded", "wordier", "terser"),
    "distance": ("farther", "further", "nearer", "closer", "distant", "farthest", "furthest", "nearest", "closest",
                 "adjacent", "remote"),
    "age": ("older", "younger", "oldest", "youngest", "elder", "elderly", "senior", "youthful", "mature", "aged",
            "juvenile"),
    "pitch": ("squeaky", "squeakier", "squeakiest", "shrill", "shriller", "booming", "bassy", "bassier",
              "deeper", "deepest", "highest-pitched", "lowest-pitched", "treble", "thinner-voiced", "gruffer",
              "heavier-voiced"),
    "pitch range": ("expressive", "livelier", "lively", "animated", "melodic", "sing-song", "singsong",
                    "monotone", "monotonous", "flatter", "flat", "expressionless", "lilting", "tuneful", "droning",
                    "deadpan"),
}
# Every other word, mapped to the stage-4 category word it means.
LEXICON: Dict[str, str] = {
    "softer": "quieter", "soft": "quiet", "loudest": "louder", "quietest": "quieter", "softest": "quieter",
    "hushed": "quieter",
    "further": "farther", "closer": "nearer", "distant": "far", "farthest": "farther", "furthest": "farther",
    "nearest": "nearer", "closest": "nearer",
    "earlier": "first", "later": "second", "last": "second",
    "deeper": "lower", "deep": "low", "deepest": "lower", "highest": "higher", "lowest": "lower",
    "squeaky": "high", "squeakier": "higher", "squeakiest": "higher", "shrill": "high", "shriller": "higher",
    "booming": "low", "bassy": "low", "bassier": "lower", "highest-pitched": "higher", "lowest-pitched": "lower",
    "quicker": "faster", "quickest": "faster", "fastest": "faster", "slowest": "slower", "quickly": "fast",
    "rapidly": "fast", "hurried": "fast", "slowly": "slow", "unhurried": "slow", "leisurely": "slow",
    "longest": "longer", "shortest": "shorter",
    "oldest": "older", "youngest": "younger", "elder": "older", "elderly": "older", "senior": "older",
    "youthful": "younger",
    "expressive": "wide", "livelier": "wider", "lively": "wide", "animated": "wide", "melodic": "wide",
    "sing-song": "wide", "singsong": "wide", "monotone": "narrow", "monotonous": "narrow", "flatter": "narrower",
    "flat": "narrow", "expressionless": "narrow",
    # the prompt-variety engine's words (tse2/cues/variety.py, both grammars)
    "fainter": "quieter", "stronger": "louder", "thunderous": "louder", "blaring": "louder", "muted": "quieter",
    "subdued": "quieter", "speedier": "faster", "brisker": "faster", "hastier": "faster", "draggier": "slower",
    "plodding": "slower", "drawls": "slower", "briefer": "shorter", "longer-winded": "longer", "wordier": "longer",
    "terser": "shorter", "adjacent": "nearer", "remote": "far", "mature": "older", "aged": "older",
    "juvenile": "younger", "treble": "higher", "thinner-voiced": "higher", "gruffer": "lower",
    "heavier-voiced": "lower", "lilting": "wide", "tuneful": "wide", "droning": "narrow", "deadpan": "narrow",
}
SYNONYMS = LEXICON  # the older name
NEUTRAL = ("similar", "same", "normal", "comparable")
# "bigger pitch range", "higher volume", "a quicker pace": generic comparatives before a cue's noun
GENERIC = {"higher": 1, "bigger": 1, "larger": 1, "greater": 1, "more": 1, "lower": -1, "smaller": -1, "less": -1}
GENERIC_CUES = ("pitch range", "loudness", "speaking rate", "speaking duration")
# phrases that say a cue without its usual words: (cue, pattern, word → direction)
CLAUSES: Tuple[Tuple[str, str], ...] = (
    ("pitch", r"\b(?:sounds?|speaks?|talks?|sounding|speaking|talking)\s+(?:a\s+bit\s+|much\s+)?(higher|lower)\b"),
    ("pitch", r"\b(high|low)(?:er)?[\s-](?:pitched|sounding)\b"),
    ("pitch", r"\bthe\s+(higher|lower)\s+(?:(?:fe)?male\s+)?(?:one|person|talker|speaker|voice|lady|woman|man|guy|of\s+the\s+two)\b"),
    ("pitch", r"\bregister\s+sits\s+(above|below)\b"),
    ("pitch", r"\bpitched\s+(further\s+up|further\s+down)\b"),
    ("pitch range", r"\bpitch\s+(?:varies|moves\s+around|changes)\s+(more|less)\b"),
    ("pitch range", r"\bpitch\s+stays\s+(steadier)\b"),
    ("pitch range", r"\b(less\s+flat)\b"),
    ("pitch range", r"\bintonation\s+(swings|barely\s+budges)\b"),
    ("loudness", r"\bmore\s+(loudly|softly|quietly)\b"),
    ("loudness", r"\b(projects\s+more|barely\s+projects)\b"),
    ("speaking rate", r"\b(rattles)\s+along\b"),
    ("speaking duration", r"\bwith\s+the\s+(longer|shorter)\s+sentence\b"),
    ("speaking duration", r"\b(holds)\s+the\s+floor\b"),
    ("speaking duration", r"\bwraps\s+up\s+(sooner)\b"),
    ("distance", r"\b(beside|by|away\s+from)\s+the\s+recorder\b"),
    ("distance", r"\b(across)\s+the\s+room\b"),
    ("age", r"\b(more|fewer)\s+years\b"),
    ("temporal order", r"\bvoice\s+appears\s+(initially|subsequently)\b"),
    ("temporal order", r"\b(opening|trailing)\s+(?:individual|participant|speaker|talker|voice|one|person)\b"),
    ("pitch range", r"\bvar(?:y|ies|ying)\s+(?:their|his|her|the|its)?\s*pitch\s+(more|less)\b"),
    ("pitch range", r"\b(more|less)\s+(?:melody|intonation|variation)\b"),
    ("pitch range", r"\bpitch\s+goes\s+up\s+and\s+down\s+(more|less)\b"),
    ("pitch range", r"\bmore\s+(level)\b"),
    ("loudness", r"\bspeaks?\s+(up)\b"),
    ("speaking rate", r"\b(?:talks?|speaks?|talking|speaking)\s+(?:really\s+|very\s+|too\s+|so\s+)?(fast|slow)\b"),
    ("speaking rate", r"\b(takes?|taking)\s+(?:their|his|her|its)\s+time\b"),
    ("speaking duration", r"\b(?:talks?|speaks?|talking|speaking)\s+(?:for\s+)?(?:the\s+|a\s+)?"
                          r"(longer|longest|shorter|shortest|more|most|less|least)\b"
                          r"(?!\s+(?:quickly|slowly|fast|slow|loudly|quietly|softly))"),
    ("speaking duration", r"\bfor\s+(more|less)\s+time\b"),
    ("speaking duration", r"\bstops?\s+(?:talking\s+|speaking\s+)?(sooner)\b"),
    ("distance", r"\b(far)\s+(?:away|from)\b"),
    ("temporal order", r"\b(before|after)\s+(?:the\s+other|him|her|them|the\s+(?:man|woman))\b"),
    ("temporal order", r"\b(opens|kicks\s+off)\b(?:\s+the\s+(?:recording|clip|conversation|mixture))?"),
    ("temporal order", r"\b(?:joins?|chimes?)\s+(in)\b"),
)
CLAUSE_WORDS = {"higher": "higher", "lower": "lower", "high": "high", "low": "low", "more": "+", "less": "-",
                "up": "louder", "longer": "longer", "longest": "longer", "most": "longer", "shorter": "shorter",
                "shortest": "shorter", "least": "shorter", "sooner": "shorter", "far": "far", "before": "first",
                "after": "second", "opens": "first", "kicks off": "first", "in": "second", "level": "narrower",
                "take": "slower", "takes": "slower", "taking": "slower",
                "above": "higher", "below": "lower", "further up": "higher", "further down": "lower", "steadier": "narrower", "less flat": "wider",
                "swings": "wider", "barely budges": "narrower", "loudly": "louder", "softly": "quieter",
                "quietly": "quieter", "projects more": "louder", "barely projects": "quieter", "rattles": "faster",
                "holds": "longer", "beside": "nearer", "by": "nearer", "away from": "farther", "across": "farther",
                "fewer": "-", "initially": "first", "subsequently": "second", "opening": "first",
                "trailing": "second"}


def _words(cue: str) -> Dict[str, int]:
    c = BY_NAME[cue]
    out = {c.above: 1, c.below: -1, "similar": 0}
    if c.bins:
        out[c.bins[0]] = -1
        out[c.bins[-1]] = 1
        if len(c.bins) == 3:
            out[c.bins[1]] = 0
    return out


def _direction(cue: str, word: str) -> int:
    words = _words(cue)
    return words.get(LEXICON.get(word, word), 0)


def vocabulary() -> Dict[str, List[str]]:
    """Every understood cue word, per cue (for error messages and docs)."""
    vocab = {c.name: sorted(set(_words(c.name)) | {w for w, s in LEXICON.items() if s in _words(c.name)})
             for c in CONTINUOUS}
    vocab["temporal order"] = ["first", "second", "earlier", "later", "starts ... first/second", "before/after the other"]
    vocab["gender"] = sorted(GENDER_WORDS.values()) + ["man", "woman", "she/her", "he/him"]
    vocab["language"] = sorted(LANGUAGE_NAMES.values())
    vocab["emotion"] = ["sounds <emotion>"]
    vocab["transcription"] = ['says "<words>"']
    return vocab


CONTINUOUS_ORDER = ("pitch range", "pitch", "loudness", "speaking rate", "speaking duration", "distance", "age")
TEMPORAL = (r"\b(?:starts?|begins?|speaks?|talks?|comes?\s+in)\b[\w\s]{0,20}?\b(first|second|earlier|later|last)\b"
            r"|\b(first|second|last)\s+(?:(?:fe)?male\s+)?(?:speaker|talker|voice|one|person|lady|woman|man|guy|individual|participant)\b"
            r"|\b(earlier|later)\b")
GENDER = (r"\b(female|male|feminine|masculine|woman|man|women|men|lady|ladies|girl|gal|guy|gentleman|gent|boy|dude|"
          r"she|her|hers|herself|he|him|his|himself)\b")
GENDER_SIDE = {"female": "f", "feminine": "f", "masculine": "m", "woman": "f", "women": "f", "lady": "f", "ladies": "f", "girl": "f", "gal": "f",
               "she": "f", "her": "f", "hers": "f", "herself": "f",
               "male": "m", "man": "m", "men": "m", "guy": "m", "gentleman": "m", "gent": "m", "boy": "m",
               "dude": "m", "he": "m", "him": "m", "his": "m", "himself": "m"}
# words that negate what follows them, up to the end of the clause ("the louder one, not the quieter"),
# and the verbs that reject a talker ("drop him", "get rid of the man")
NEGATION = (r"\b(?:not|never|no|rather\s+than|instead\s+of|other\s+than|except|but\s+not|without|"
            r"(?:anybody|anyone|everybody|everyone)\s+but|"
            r"drop|lose|remove|get\s+rid\s+of|mute|ignore|exclude)\b|n't\b")
CLAUSE_END = r"[,;.!?]|\band\b|\bbut\b|\bthe\s+other\b"
# emotion words read anywhere in a prompt (the corpora's labels and their everyday names)
EMOTION_WORDS = ("neutral", "happy", "sad", "angry", "surprised", "fearful", "scared", "afraid", "disgusted",
                 "excited", "cheerful", "upset", "annoyed", "furious", "joyful", "gloomy", "calm", "contemptuous")
# a "sounds <word>" that is not an emotion
NOT_EMOTION = frozenset("more less a an very rather quite much so too really kind sort of bit little way lot".split())


@lru_cache(maxsize=None)
def _cue_patterns(cue: str) -> List[str]:
    """The regular expressions that find a continuous cue's words, in the order they are tried; the
    first group that matched holds the cue word."""
    words = _words(cue)
    alts = sorted(set(words) | {w for w, s in LEXICON.items() if s in words}, key=len, reverse=True)
    alts = "|".join(re.escape(w).replace(r"\-", r"[-\s]") for w in alts)
    if cue == "age":
        pats = [rf"\b(?:of\s+an?\s+)?({alts})\s+age\b|\bwho\s+is\s+({alts})\b"]
    else:
        pats = [rf"\b({alts})[\s-]+(?:in\s+)?(?:{NOUNS[cue]})\b",  # "the higher pitch"
                # "whose pitch is higher"
                rf"\b(?:{NOUNS[cue]})\b(?:\s+\w+){{0,3}}?\s+(?:is|are|was|sounds?)\s+({alts})\b"]
    if cue in GENERIC_CUES:  # "a bigger pitch range", "the higher volume", "whose pitch range is larger"
        generic = "|".join(GENERIC)
        pats += [rf"\b({generic})[\s-]+(?:in\s+)?(?:{NOUNS[cue]})\b",
                 rf"\b(?:{NOUNS[cue]})\b\s+(?:is|are|was)\s+({generic})\b"]
    pats += [p for c, p in CLAUSES if c == cue]
    if cue in STANDALONE:
        pats.append(rf"\b({'|'.join(re.escape(w) for w in sorted(STANDALONE[cue], key=len, reverse=True))})\b")
    return pats


def _word_direction(cue: str, word: str) -> int:
    """The direction a matched word gives its cue: a generic comparative ("bigger") before the
    cue's noun, a clause's word ("varies their pitch more"), or the cue's own words and synonyms."""
    if cue in GENERIC_CUES and word in GENERIC and word not in _words(cue) and word not in LEXICON:
        return GENERIC[word]
    mapped = CLAUSE_WORDS.get(word, word)
    if mapped in ("+", "-"):
        return 1 if mapped == "+" else -1
    return _direction(cue, mapped)


def _inside(pos: int, spans: List[Tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


# "remove everyone except X", "mute everybody apart from X": two negations that keep X
KEEP_ONLY = (r"\b(?:remove|mute|drop|silence|cut)\s+(?:everyone|everybody|everything|all|anyone|anybody)\s+"
             r"(?:else\s+)?(?:except|apart\s+from|but|other\s+than|besides)\b")


def _negated_spans(text: str) -> List[Tuple[int, int]]:
    spans = []
    text = re.sub(KEEP_ONLY, lambda m: " " * len(m.group(0)), text)
    for m in re.finditer(NEGATION, text):
        end = re.search(CLAUSE_END, text[m.end():])
        spans.append((m.start(), m.end() + (end.start() if end else len(text) - m.end())))
    return spans


def _normalized(prompt: str) -> str:
    return re.sub(r'"[^"]*"', ' "" ', prompt.lower().replace("’", "'"))  # a quoted transcription is not cue words


def _find(text: str, negated: List[Tuple[int, int]]) -> Dict[str, List[Tuple[int, str, int, bool]]]:
    """Every cue word of ``text``: ``{cue: [(position, word, direction or gender side, negated), ...]}``."""
    out: Dict[str, List[Tuple[int, str, int, bool]]] = {}

    taken: List[Tuple[int, int]] = []  # spans already read as one cue's words
    for cue in CONTINUOUS_ORDER:
        for pat in _cue_patterns(cue):
            for m in re.finditer(pat, text):
                g = next(i for i, x in enumerate(m.groups(), 1) if x)
                if _inside(m.start(g), taken):
                    continue
                word = " ".join(m.group(g).split())
                d = _word_direction(cue, word)
                if re.search(r"\bless\s+$", text[:m.start(g)]) and word not in GENERIC:
                    d = -d  # "less expressive", "less quickly"
                out.setdefault(cue, []).append((m.start(g), word, d, _inside(m.start(), negated)))
                taken.append((m.start(), m.end()))
    for m in re.finditer(TEMPORAL, text):
        word = next(x for x in m.groups() if x)
        if _inside(m.start(), taken):
            continue
        d = 1 if LEXICON.get(word, word) == "second" else -1
        out.setdefault("temporal order", []).append((m.start(), word, d, _inside(m.start(), negated)))
    for pat in (p for c, p in CLAUSES if c == "temporal order"):
        for m in re.finditer(pat, text):
            word = " ".join(m.group(1).split())
            d = 1 if CLAUSE_WORDS[word] == "second" else -1
            out.setdefault("temporal order", []).append((m.start(), word, d, _inside(m.start(), negated)))
    for m in re.finditer(GENDER, text):
        side = 1 if GENDER_SIDE[m.group(1)] == "f" else -1
        out.setdefault("gender", []).append((m.start(), m.group(1), side, _inside(m.start(), negated)))
    for v in out.values():
        v.sort()
    return out


def _decide(hits: List[Tuple[int, str, int, bool]], flip: bool = True) -> Tuple[str, int, bool]:
    """(word, direction, negated): the first affirmed word, else the first negated one turned round."""
    affirmed = [h for h in hits if not h[3]]
    if affirmed:
        return affirmed[0][1], affirmed[0][2], False
    _, word, d, _ = hits[0]
    return word, (-d if flip else d), True


def contradictions(prompt: str) -> List[str]:
    """Cue words of one prompt that cannot all hold for one talker ("the louder and the quieter
    one", "who starts first and starts last", "the man, the woman", two languages), each as
    ``cue: 'word' and 'word'``.  Words under a negation ("the louder one, not the quieter") do not
    count: they say what the target is not."""
    if not isinstance(prompt, str):
        return []
    text = _normalized(prompt)
    negated = _negated_spans(text)
    found = _find(text, negated)
    out = []
    for cue in CONTINUOUS_ORDER + ("temporal order",):
        seen: Dict[int, str] = {}
        for _, word, d, neg in found.get(cue, []):
            if not neg:
                seen.setdefault(d, word)
        if 1 in seen and -1 in seen:
            first, second = (seen[-1], seen[1]) if cue == "temporal order" else (seen[1], seen[-1])
            out.append(f"{cue}: {first!r} and {second!r}")
    sides: Dict[int, str] = {}
    for _, word, d, neg in found.get("gender", []):
        if not neg and word in ("female", "male", "woman", "man", "women", "men"):  # pronouns may refer to either
            sides.setdefault(d, word)
    if len(sides) == 2:
        out.append(f"gender: {sides[1]!r} and {sides[-1]!r}")
    langs = []
    for name in LANGUAGE_NAMES.values():
        if name not in langs and any(not _inside(m.start(), negated) for m in re.finditer(rf"\b{name.lower()}\b", text)):
            langs.append(name)
    if len(langs) > 1:
        out.append(f"language: {' and '.join(repr(n) for n in langs[:2])}")
    return out


def parse_prompt(prompt: str) -> List[CueRelation]:
    """All cue relations a prompt states, in a fixed cue order; raises :class:`PromptParseError`."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise PromptParseError("empty prompt")
    text = _normalized(prompt)
    negated = _negated_spans(text)
    hits = _find(text, negated)
    found: Dict[str, CueRelation] = {}

    def add(cue: str, word: str, direction: int, value: Optional[str] = None, neg: bool = False) -> None:
        found.setdefault(cue, CueRelation(cue, word, direction, value, neg))

    for cue in CONTINUOUS_ORDER + ("temporal order",):
        if cue in hits:
            word, d, neg = _decide(hits[cue])
            add(cue, word, d, None, neg)
    if "temporal order" not in found and re.search(r"\bstarts?\b.*\b(?:same|similar)\s+time\b", text):
        add("temporal order", "same time", 0)
    if "gender" in hits:
        word, side, neg = _decide(hits["gender"])
        add("gender", word, 0, "f" if side > 0 else "m", neg)
    else:
        m = re.search(r"\bsame\s+(gender|sex)\b", text)
        if m is not None:
            add("gender", m.group(1), 0)
    if re.search(r"\bsame\s+language\b", text):
        add("language", "same language", 0)
    if re.search(r"\bsays?\s+the\s+same\s+words\b", text):
        add("transcription", "same words", 0)
    for name in LANGUAGE_NAMES.values():
        m = re.search(rf"\b{name.lower()}\b", text)
        if m is not None:
            add("language", name, 0, name, _inside(m.start(), negated))
            break
    known = {w for ws in vocabulary().values() for w in ws} | set(LEXICON) | {w for ws in STANDALONE.values() for w in ws}
    m = re.search(r"(?<![-\w])sound(?:s|ing)?\b", text)
    if m is not None:  # "sounds happy", "sounds the same"; "sounds louder" is loudness, "sounds more distant" distance
        word = next((w for w in re.findall(r"[\w-]+", text[m.end():]) if w not in NOT_EMOTION), None)
        if word is not None and word not in known and not any(word == h[1] for v in hits.values() for h in v):
            add("emotion", word, 0)
    if "emotion" not in found:  # "whoever seems angry", "the happy one"
        m = re.search(rf"\b({'|'.join(EMOTION_WORDS)})\b", text)
        if m is not None:
            add("emotion", m.group(1), 0, m.group(1), _inside(m.start(), negated))
    if '""' in text and re.search(r"\b(?:says?|said|saying|goes|go|words|uttering|utters|voicing|line)\b", text):
        add("transcription", "says", 0)
    if not found:
        words = "; ".join(f"{cue}: {', '.join(ws)}" for cue, ws in vocabulary().items())
        raise PromptParseError(f"no cue word understood in {prompt!r}. Understood cue words: {words}")
    order = [c.name for c in CONTINUOUS] + ["gender", "language", "emotion", "transcription"]
    return sorted(found.values(), key=lambda r: order.index(r.cue))
