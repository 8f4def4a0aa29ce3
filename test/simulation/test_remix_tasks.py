"""The 16 remixing tasks: gains, targets, availability per composition, and the prompt sampler."""

import numpy as np
import pytest

from tse2.simulation.remix_tasks import (AUDIO, SPEECH, TASKS, Source, available_tasks, classify, remix_target,
                             sample_instruction, speaker_phrase, task_patterns, write_prompt)

S, A = SPEECH, AUDIO
FOUR = [Source(S, "f", "sad"), Source(S, "m", "sad"), Source(A, category="birds"), Source(A, category="train")]


def sources(n: int = 4, length: int = 800) -> np.ndarray:
    t = np.arange(length) / 8000
    return np.stack([np.sin(2 * np.pi * (100 + 150 * k) * t) * (k + 1) / 4 for k in range(n)]).astype(np.float32)


@pytest.mark.parametrize("task", TASKS)
def test_every_task_of_two_speech_two_audio_has_its_gains_and_target(task):
    src = sources()
    rng = np.random.default_rng(1)
    for _ in range(5):
        ins = sample_instruction(FOUR, rng, task=task)
        g = np.asarray(ins.gains)
        assert classify(ins.gains, [s.kind for s in FOUR]) == task
        assert set(g) <= {0.0, 0.5, 1.0, 2.0} and not set(g) <= {1.0} and set(g) != {0.0}
        np.testing.assert_allclose(remix_target(src, g), (g[:, None] * src).sum(0), rtol=1e-5, atol=1e-6)
        if task == "TSE":
            k = int(np.flatnonzero(g == 1)[0])
            assert k < 2 and np.array_equal(remix_target(src, g), src[k])
        if task == "SE":
            np.testing.assert_allclose(remix_target(src, g), src[0] + src[1], rtol=1e-5, atol=1e-6)
        if task == "OVC":
            np.testing.assert_allclose(remix_target(src, g), g[0] * src.sum(0), rtol=1e-5, atol=1e-6)
        if task in ("TAU", "TAD"):
            k = int(np.flatnonzero(g != 1)[0])
            assert k >= 2 and g[k] == (2.0 if task == "TAU" else 0.5)


def test_the_tasks_each_composition_allows_are_the_papers_table_iii():
    assert available_tasks([S, S, A, A]) == list(TASKS)
    assert available_tasks([S, S]) == ["TSE", "TSU", "TSD", "MVC", "MEVC", "OVC"]
    assert available_tasks([A, A]) == ["TAE", "TAU", "TAD", "MVC", "MEVC", "OVC"]
    assert available_tasks([S, S, A]) == ["TSE", "TSR", "TSU", "TSD", "SE", "SR", "SU", "SD", "MVC", "MEVC", "OVC"]
    assert available_tasks([S, A, A]) == ["TAE", "TAR", "TAU", "TAD", "SE", "SR", "SU", "SD", "MVC", "MEVC", "OVC"]


def test_every_gain_vector_belongs_to_one_task_or_is_trivial():
    pats = task_patterns([S, S, A, A])
    counted = sum(len(v) for v in pats.values())
    assert counted == 4 ** 4 - 2  # the paper's 254 remixes: all but the identity and silence
    assert classify((1, 1, 1, 1), [S, S, A, A]) is None and classify((0, 0, 0, 0), [S, S, A, A]) is None
    assert sorted(pats["ME"]) == sorted([(1, 0, 1, 0), (1, 0, 0, 1), (0, 1, 1, 0), (0, 1, 0, 1)])


def test_the_instruction_sampler_is_deterministic():
    a = [sample_instruction(FOUR, np.random.default_rng(7)) for _ in range(3)]
    b = [sample_instruction(FOUR, np.random.default_rng(7)) for _ in range(3)]
    assert a == b
    draws = [sample_instruction(FOUR, np.random.default_rng(s)) for s in range(40)]
    assert len({d.task for d in draws}) > 8 and len({d.prompt for d in draws}) > 30


def test_speakers_are_named_by_what_tells_them_apart():
    rng = np.random.default_rng(0)
    same_gender = [Source(S, "f", "sad"), Source(S, "f", "fast")]
    for _ in range(20):
        p = speaker_phrase(same_gender[0], same_gender[1:], rng)
        assert any(w in p for w in ("sad", "unhappy", "gloomy")), p  # gender alone would not tell them apart
    same_style = [Source(S, "f", "sad"), Source(S, "m", "sad")]
    for _ in range(20):
        p = speaker_phrase(same_style[1], same_style[:1], rng)
        assert any(w in p for w in ("man", "male", "gentleman")), p
    with pytest.raises(ValueError, match="cannot be told apart"):
        speaker_phrase(Source(S, "f", "sad"), [Source(S, "f", "sad")], rng)


def test_held_out_phrasings_use_words_training_never_sees():
    rng = np.random.default_rng(3)
    train = " ".join(write_prompt("TAE", (1, 0, 0, 0)[::-1], FOUR, rng) for _ in range(50))
    held = " ".join(write_prompt("TAE", (0, 0, 0, 1), FOUR, rng, held_out=True) for _ in range(50))
    assert "rail car" in held and "rail car" not in train
    assert ("leave nothing but" in held or "focus on" in held) and "leave nothing but" not in train


def test_a_task_the_composition_lacks_is_an_error():
    with pytest.raises(ValueError, match="does not exist"):
        sample_instruction(FOUR[:2], np.random.default_rng(0), task="TAE")


def test_a_prompt_naming_a_missing_source_asks_for_silence_or_the_mixture_unchanged():
    from tse2.corpus.sounds import category_words
    from tse2.simulation.remix_tasks import ABSENT_TASKS, absent_instruction, absent_source

    rng = np.random.default_rng(4)
    for task in ABSENT_TASKS:
        for _ in range(5):
            missing = absent_source(FOUR, rng, ["birds", "train", "fire", "water"], AUDIO)
            assert missing.category in ("fire", "water")
            ins = absent_instruction(FOUR, missing, rng, task)
            assert ins.task == task and ins.gains == ((0.0,) * 4 if task == "ABSE" else (1.0,) * 4)
            assert any(w in ins.prompt.lower() for w in category_words(missing.category))
            assert not any(w in ins.prompt.lower() for c in ("birds", "train") for w in category_words(c))
    same_gender = [Source(S, "f", "sad"), Source(S, "f", "happy"), FOUR[2], FOUR[3]]
    missing = absent_source(same_gender, rng, [], SPEECH)
    assert missing == Source(S, gender="m")
    prompt = absent_instruction(same_gender, missing, rng, "ABSE").prompt.lower()
    assert any(w in prompt for w in ("man", "male", "gentleman")) and "woman" not in prompt
    assert absent_source(FOUR, rng, [], SPEECH) is None  # a woman and a man: no gender is missing
    assert absent_source(FOUR, rng, ["birds", "train"]) is None
    with pytest.raises(ValueError, match="unknown absent-source task"):
        absent_instruction(FOUR, missing, rng, "TSE")
