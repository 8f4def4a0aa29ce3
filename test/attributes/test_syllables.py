"""Syllable counts of fixed words in each language."""

from __future__ import annotations

import logging

import pytest

from tse2.attributes.syllables import UnknownLanguageError, count_syllables, count_word


@pytest.mark.parametrize("lang,word,n", [
    ("en", "banana", 3), ("en", "strength", 1), ("en", "rhythm", 1), ("en", "Beautiful", 3),
    ("fr", "café", 2), ("fr", "oiseau", 2), ("fr", "hôpital", 3), ("fr", "cœur", 1),
    ("de", "Mädchen", 2), ("de", "Straße", 2), ("de", "Frühstück", 2), ("de", "Donnerstagnachmittag", 6),
    ("es", "canción", 2), ("es", "murciélago", 4), ("es", "y", 1), ("es", "árbol", 2),
    ("zh", "你好世界", 4), ("zh", "今天，很好。", 4), ("zh", "abc", 0),
])
def test_word_counts(lang, word, n):
    assert count_word(word, lang) == n


def test_sentence_and_unknown_language(caplog):
    assert count_syllables("The quick brown fox".split(), "en") == 4
    with pytest.raises(UnknownLanguageError, match="no syllable rule for language 'it'"):
        count_syllables(["ciao"], "it")
    with caplog.at_level(logging.WARNING):
        assert count_syllables(["ciao", "bella"], "it", fallback="es") == 3
    assert "counting with the 'es' rule" in caplog.text
