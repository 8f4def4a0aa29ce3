"""The prompt-variety engine (tse2/cues/variety.py): seeded, and its held-out grammar never leaks
into training prompts (checked over the whole generated training set)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tse2.cues import variety
from tse2.cues.styles import PHRASES, TEMPLATES, StyleVocab

STYLES = tuple(variety.STYLE_ADJECTIVES)


def _words(texts):
    return {w for t in texts for w in re.findall(r"[a-z']+", t.lower())}


def test_queries_are_deterministic_per_seed():
    a = [variety.style_query("sad", np.random.default_rng(3), "train", PHRASES) for _ in range(5)]
    b = [variety.style_query("sad", np.random.default_rng(3), "train", PHRASES) for _ in range(5)]
    assert a == b
    assert variety.heldout_style_queries("sad", PHRASES, 12) == variety.heldout_style_queries("sad", PHRASES, 12)
    assert len(set(variety.heldout_style_queries("sad", PHRASES, 12))) == 12


def test_the_two_grammars_are_disjoint():
    for part in variety.PARTS:
        for field in ("openers", "requests", "statements", "questions", "closers", "nouns", "adjective_frames"):
            other = "heldout" if part == "train" else "train"
            shared = set(getattr(variety.GRAMMARS[part], field)) & set(getattr(variety.GRAMMARS[other], field)) - {""}
            assert not shared, (field, shared)
    for style, parts in variety.STYLE_ADJECTIVES.items():
        assert not set(parts["train"]) & set(parts["heldout"]), style


def test_held_out_words_never_occur_in_training_prompts():
    """Every word that only the held-out part declares (grammar, adjectives, style phrases and
    templates) is absent from 20 000 training prompts of the sampler, engine share 1/2."""
    g_train, g_held = variety.GRAMMARS["train"], variety.GRAMMARS["heldout"]

    def declared(g, part):
        texts = [t for f in ("openers", "requests", "statements", "questions", "closers", "nouns", "adjective_frames")
                 for t in getattr(g, f)]
        texts += [a for s in STYLES for a in variety.STYLE_ADJECTIVES[s][part]]
        texts += [p for s in STYLES for p in PHRASES[s][part]] + list(TEMPLATES[part])
        return _words(t.replace("{d}", "").replace("{a}", "").replace("{n}", "").replace("{}", "") for t in texts)

    held_only = declared(g_held, "heldout") - declared(g_train, "train")
    assert {"fetch", "narration", "livid", "asap", "sonorous"} <= held_only
    vocab = StyleVocab(TEMPLATES, PHRASES, STYLES)
    rng = np.random.default_rng(0)
    made = [vocab.sample(STYLES[k % len(STYLES)], rng, variety=0.5) for k in range(20000)]
    leaked = _words(made) & held_only
    assert not leaked, sorted(leaked)[:10]
    # and the engine's training part really is used
    assert any(m.startswith(("could you", "is there", "which utterances")) for m in made)


def test_no_variety_keeps_the_old_sampler():
    vocab = StyleVocab(TEMPLATES, PHRASES, STYLES)
    a = [vocab.sample("happy", np.random.default_rng(1)) for _ in range(3)]
    b = [vocab.sample("happy", np.random.default_rng(1), variety=0.0) for _ in range(3)]
    assert a == b


def test_a_style_without_words_is_a_clear_error():
    with pytest.raises(ValueError, match="has no words in the train grammar"):
        variety.style_description("sleepy", np.random.default_rng(0), "train", phrases={})
