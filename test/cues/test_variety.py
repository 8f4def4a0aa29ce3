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


# ------------------------------------------------------------------------------------- extraction

def _extraction_prompts(templates, variety=0.0, n=400, seed=3, keep_similar=False):
    """(cue labels, relative prompt) of every cue set of ``n`` random mixtures, as stage 4 writes them."""
    from test_prompts import _rows

    from tse2.cues.labels import CONTINUOUS, IndependentBins, label_mixture
    from tse2.cues.prompts import choose_cue_sets, prompt_pair

    rows = _rows(n=n, seed=seed)
    bins = IndependentBins.fit({c.name: [r[s][c.field] for r in rows for s in ("s1", "s2")] for c in CONTINUOUS if c.bins})
    out = []
    for k, row in enumerate(rows):
        for cue_type, cues in choose_cue_sets(label_mixture(row, bins), np.random.default_rng(k), keep_similar):
            out.append((cues, prompt_pair(cues, [0, k, len(cue_type)], templates, variety)[0]))
    return out


def test_extraction_prompts_are_seeded_and_mixed_in_by_share():
    a = _extraction_prompts("train", 0.5, n=60)
    assert a == _extraction_prompts("train", 0.5, n=60)
    plain = _extraction_prompts("train", 0.0, n=60)
    engine = _extraction_prompts("train", 1.0, n=60)
    mixed = sum(x[1] != p[1] for x, p in zip(a, plain))
    assert 0.35 < mixed / len(a) < 0.65  # about half the prompts come from the engine ...
    assert all(x[1] in (p[1], e[1]) for x, p, e in zip(a, plain, engine))  # ... and the rest are the templates
    with pytest.raises(ValueError, match="share in"):
        _extraction_prompts("train", 1.5, n=2)


def test_extraction_engine_has_the_variety_the_issue_asks_for():
    texts = [p for _, p in _extraction_prompts("train", 1.0)]
    low = [t.lower() for t in texts]
    for needle in ("deeper", "squeakier", "booming", "hushed", "not the", "her, not him", "who starts first?",
                   "could you", "please", "whoever", " and "):
        assert any(needle in t for t in low), needle
    assert any(t.endswith("?") for t in texts) and any(not t.split()[0].lower() in ("extract", "give") for t in texts)


def test_extraction_held_out_words_never_occur_in_training_prompts():
    from tse2.cues import prompts

    def declared(part):
        g = variety.EXTRACTION_GRAMMARS[part]
        texts = [t for f in ("openers", "requests", "statements", "answers", "rejections", "closers", "nouns",
                             "similar") for t in getattr(g, f)]
        texts += [w for words in variety.EXTRACTION_WORDS.values() for w in words[part].pre + words[part].post]
        if part == "train":
            texts += [w for ws in variety.GENDER_NOUNS.values() for w in ws]
            texts += [w for ws in variety.PRONOUNS.values() for w in ws]
            texts += list(prompts.TRAIN_FRAMES) + list(prompts.TRAIN_VERBS) + list(prompts.PHRASES.values())
            texts += list(prompts.SIMILAR_PHRASES.values())
        return _words(re.sub(r"\{\w+\}", " ", t) for t in texts)

    held_only = declared("heldout") - declared("train")
    assert {"salvage", "gruffer", "drawls", "kicks", "participant", "feminine"} <= held_only
    made = [p for _, p in _extraction_prompts("train", 0.5, n=1500)]
    assert len(made) > 15000
    leaked = _words(made) & held_only
    assert not leaked, sorted(leaked)[:10]
    # and every held-out prompt says something only the held-out grammar has
    held = [p for _, p in _extraction_prompts("heldout", n=200)]
    assert all(_words([p]) & held_only for p in held)


def test_no_hand_written_sentence_is_generated_for_training():
    from tse2.cues.handwritten import shipped

    def norm(t):
        return " ".join(re.findall(r"[a-z']+", re.sub(r"\{\w+\}", "", t.lower())))

    hand = {norm(s) for sentences in shipped("extraction").values() for s in sentences}
    made = {norm(re.sub(r'"[^"]*"', "", p)) for _, p in _extraction_prompts("train", 1.0, n=1500)}
    # {language} slots are filled in the generated ones: compare with the names taken out too
    made |= {" ".join(w for w in m.split() if w not in ("english", "french", "chinese")) for m in made}
    assert not hand & made, sorted(hand & made)[:5]


@pytest.mark.parametrize("templates,share", [("train", 1.0), ("heldout", 0.0)])
def test_the_attribute_parser_reads_every_engine_prompt(templates, share):
    """The training-free selector reads both grammars with the right cue, direction and value,
    similar/same cues included (the validation and test sets keep them, flagged)."""
    from tse2.cues.labels import BY_NAME
    from tse2.cues.parse import parse_prompt

    def expected(lab):
        if lab.cue in BY_NAME:
            return lab.cue, {BY_NAME[lab.cue].above: 1, BY_NAME[lab.cue].below: -1}.get(lab.relative, 0), None
        return lab.cue, 0, lab.relative if lab.cue == "gender" and lab.relative in ("f", "m") else None

    wrong = []
    for cues, text in _extraction_prompts(templates, share, n=300, keep_similar=True):
        got = {(r.cue, r.direction, r.value if r.cue == "gender" else None) for r in parse_prompt(text)}
        if got != {expected(c) for c in cues}:
            wrong.append((text, sorted(got)))
    assert not wrong, wrong[:3]


# ------------------------------------------------------------------------------------------ remix

def _remix_sources(k):
    from tse2.corpus.sounds import CATEGORIES
    from tse2.simulation.remix_tasks import AUDIO, SPEECH, STYLE_WORDS, Source

    cats = [c.name for c in CATEGORIES]
    styles = [s for s in STYLE_WORDS if s in STYLES]
    genders = ("f", "m") if k % 3 else ("f", "f")
    return [Source(SPEECH, gender=genders[0], style=styles[k % len(styles)]),
            Source(SPEECH, gender=genders[1], style=styles[(k + 1) % len(styles)]),
            Source(AUDIO, category=cats[k % len(cats)]), Source(AUDIO, category=cats[(k + 5) % len(cats)])]


def _remix_prompts(variety_share=0.0, held_out=False, n=1000):
    """(instruction, the (action, words) items it was written from) for n mixtures."""
    import tse2.simulation.remix_tasks as rt

    seen = []
    original = rt._action_items

    def record(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out[0])
        return out

    rt._action_items = record
    try:
        made = [(rt.sample_instruction(_remix_sources(k), np.random.default_rng(k), held_out=held_out,
                                       variety=variety_share), seen[-1]) for k in range(n)]
    finally:
        rt._action_items = original
    return made


def test_remix_prompts_are_seeded_and_a_share_comes_from_the_engine():
    a = [i.prompt for i, _ in _remix_prompts(0.5, n=200)]
    assert a == [i.prompt for i, _ in _remix_prompts(0.5, n=200)]

    def engine_worded(share):  # frames only the engine's training grammar has
        return sum(any(w in i.prompt.lower() for w in ("a notch", "has to go", "nothing else", "just play",
                                                        "separate out", "pump up", "should be", "more volume"))
                   for i, _ in _remix_prompts(share, n=400))

    full = engine_worded(1.0)
    assert engine_worded(0.0) == 0 and full > 100 and 0.3 < engine_worded(0.5) / full < 0.7


@pytest.mark.parametrize("share,held_out", [(1.0, False), (0.0, True)])
def test_the_remix_reader_reads_every_engine_prompt(share, held_out):
    """tse2.inference.remix.read_prompt (the cascade and the CLI's check) finds each action of the
    instruction and no problem, in both grammars."""
    from tse2.inference.remix import read_prompt

    wrong = []
    for ins, items in _remix_prompts(share, held_out, n=600):
        reading = read_prompt(ins.prompt)
        if reading.problems or {a for a, _ in reading.actions} != {a for a, _ in items}:
            wrong.append((ins.task, ins.prompt, reading.actions, reading.problems))
    assert not wrong, wrong[:3]


def test_remix_held_out_words_never_occur_in_training_prompts():
    from tse2.corpus.sounds import CATEGORIES, category_words
    from tse2.simulation import remix_tasks as rt

    def declared(part):
        g = variety.REMIX_GRAMMARS[part]
        texts = [f for fs in g.actions.values() for f in fs] + list(g.joiners + g.openers + g.closers)
        texts += [w for c in CATEGORIES for w in category_words(c.name, part == "heldout")]
        if part == "train":
            texts += [f for fs in rt.VERBS.values() for f in fs] + list(rt.OPENERS) + list(rt.NEUTRAL_NOUNS)
            texts += [w for ws in rt.GENDER_NOUNS.values() for w in ws] + list(rt.SPEECH_GROUP + rt.AUDIO_GROUP)
            texts += list(rt.EVERYTHING) + [w for a, p in rt.STYLE_WORDS.values() for w in a + p]
        else:
            texts += list(rt.NEUTRAL_NOUNS_HELD_OUT) + [w for ws in rt.GENDER_NOUNS_HELD_OUT.values() for w in ws]
            texts += list(rt.SPEECH_GROUP_HELD_OUT + rt.AUDIO_GROUP_HELD_OUT + rt.EVERYTHING_HELD_OUT)
            texts += [w for a, p in rt.STYLE_WORDS_HELD_OUT.values() for w in a + p]
        return _words(t.replace("{x}", " ") for t in texts)

    held_only = declared("heldout") - declared("train")
    assert {"eliminate", "attenuate", "cheers", "additionally"} <= held_only
    made = [i.prompt for i, _ in _remix_prompts(0.5, n=4000)]
    leaked = _words(made) & held_only
    assert not leaked, sorted(leaked)[:10]
    held = [i.prompt for i, _ in _remix_prompts(0.0, True, n=300)]
    assert all(_words([p]) & held_only for p in held)


def test_no_hand_written_remix_sentence_is_generated():
    from tse2.cues.handwritten import is_handwritten

    assert is_handwritten("Crank up the dog.", "remix")  # the check itself
    made = [i.prompt for i, _ in _remix_prompts(1.0, n=3000)]
    assert not [p for p in made if is_handwritten(p, "remix")]
