"""Reliability: the API reads integer and channels-first arrays as audio, and the attribute
selector says when it could not measure a cue instead of picking candidate 1."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from tse2.attributes.selector import AttributeSelector
from tse2.extractor import check_audio, to_model_input
from tse2.utils.audio import AudioError

FS = 16000


def test_int16_samples_are_scaled_like_a_wav_file(caplog):
    t = np.arange(FS) / FS
    x = 0.5 * np.sin(2 * np.pi * 200 * t)
    pcm = np.round(x * 32767).astype(np.int16)
    with caplog.at_level(logging.INFO):
        y = to_model_input(pcm, FS, FS, "pcm")
    assert "int16 samples, scaled by 1/32768" in caplog.text
    assert np.max(np.abs(y - x)) < 1e-3


def test_channels_first_arrays_are_recognised(caplog):
    rng = np.random.default_rng(0)
    stereo = rng.normal(0, 0.1, size=(2, FS)).astype(np.float32)
    with caplog.at_level(logging.INFO):
        y = to_model_input(stereo, FS, FS, "array")
    assert y.shape == (FS,) and np.allclose(y, stereo.mean(axis=0))
    assert "read as 2 channels of 16000 samples (channels first)" in caplog.text
    assert check_audio(stereo.T, FS).shape == (FS, 2)  # (samples, channels) stays as it is


@pytest.mark.parametrize("audio, message", [
    (np.zeros((3, 3, 3), dtype=np.float32), "expected a waveform of shape"),
    (np.array([True, False] * FS), "samples of type bool are not audio"),
    (np.array(["a"] * FS), "are not audio"),
])
def test_non_audio_arrays_are_named(audio, message):
    with pytest.raises(AudioError, match=message):
        check_audio(audio, FS, "array")


def test_the_attribute_selector_refuses_to_guess():
    """Two candidates of white noise have no F0: a pitch prompt cannot be decided, and the user is
    told so (stage 9 still scores the decision as undecided through ``decide``)."""
    rng = np.random.default_rng(0)
    cands = rng.normal(0, 0.05, size=(2, FS)).astype(np.float32)
    selector = AttributeSelector()
    with pytest.raises(ValueError, match="could not measure pitch on the separated outputs"):
        selector(cands, FS, prompt="the speaker with the higher pitch")
    m1, m2 = (selector.measure(c, FS, ["pitch"]) for c in cands)
    assert selector.decide("the speaker with the higher pitch", m1, m2)[2]["decided"] is False
