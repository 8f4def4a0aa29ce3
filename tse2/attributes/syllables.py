"""Syllable counts (paper IV-A(1)): Chinese, one per character; English, French, German and
Spanish, contiguous vowel groups per word, with each language's vowel letters (accents included).

Other languages are an error unless a fallback language is given explicitly (and logged).
"""

from __future__ import annotations

import logging
import re
from typing import Iterable, Optional

log = logging.getLogger(__name__)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
VOWELS = {
    "en": "aeiouy",
    "fr": "aeiouyàâäéèêëîïôöùûüÿœæ",
    "de": "aeiouyäöü",
    "es": "aeiouyáéíóúü",
}
LANGUAGES = ("zh",) + tuple(VOWELS)
_GROUPS = {lang: re.compile(f"[{v}]+") for lang, v in VOWELS.items()}


class UnknownLanguageError(ValueError):
    """No syllable rule for this language."""


def resolve_language(lang: str, fallback: Optional[str] = None) -> str:
    if lang in LANGUAGES:
        return lang
    if fallback:
        if fallback not in LANGUAGES:
            raise UnknownLanguageError(f"fallback language {fallback!r} has no syllable rule either ({LANGUAGES})")
        log.warning("no syllable rule for language %r: counting with the %r rule (--syllable_fallback)", lang, fallback)
        return fallback
    raise UnknownLanguageError(
        f"no syllable rule for language {lang!r}; known: {', '.join(LANGUAGES)} "
        "(set --syllable_fallback to count it with one of them)"
    )


def count_word(word: str, lang: str) -> int:
    """Syllables of one word (``lang`` must be in :data:`LANGUAGES`)."""
    if lang == "zh":
        return len(_CJK.findall(word))
    return len(_GROUPS[lang].findall(word.lower()))


def count_syllables(words: Iterable[str], lang: str, fallback: Optional[str] = None) -> int:
    """Total syllables of a word sequence; Chinese words may be characters or whole phrases."""
    rule = resolve_language(lang, fallback)
    return sum(count_word(w, rule) for w in words)
