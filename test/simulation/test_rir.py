"""Rooms and RIRs: sampling ranges as in the paper, RT60 measured on the RIR, direct-path delay."""

from __future__ import annotations

import numpy as np
import pytest

from tse2.simulation.rir import IsmDiffuseRIR, make_rir_backend, measure_rt60, sabine_absorption, sample_room


def test_room_sampling_ranges():
    for k in range(200):
        room = sample_room(np.random.default_rng(k))
        lx, ly, lz = room.size
        assert 9 <= lx <= 11 and 9 <= ly <= 11 and 2.6 <= lz <= 3.5 and 0.3 <= room.rt60 <= 0.6
        assert room.mic == (lx / 2, ly / 2, lz / 2)
        for src, d in zip(room.sources, room.distances):
            assert 0.3 <= d <= 1.5 and 1.6 <= src[2] <= 1.9
            assert np.hypot(src[0] - room.mic[0], src[1] - room.mic[1]) == pytest.approx(d)


@pytest.mark.parametrize("seed", range(6))
def test_rt60_of_generated_rir(seed):
    rng = np.random.default_rng(seed)
    room = sample_room(rng)
    rirs = IsmDiffuseRIR()(room, rng)
    assert rirs.shape[0] == 3 and rirs.dtype == np.float32
    for h, src in zip(rirs, room.sources):
        assert abs(measure_rt60(h, 16000) / room.rt60 - 1) < 0.15  # T30 vs the drawn RT60
        direct = np.linalg.norm(np.subtract(src, room.mic)) / 343.0
        assert abs(np.argmax(np.abs(h)) / 16000 - direct) < 2e-4


def test_rir_is_a_function_of_the_seed():
    a = IsmDiffuseRIR()(sample_room(np.random.default_rng(3)), np.random.default_rng(7))
    b = IsmDiffuseRIR()(sample_room(np.random.default_rng(3)), np.random.default_rng(7))
    assert np.array_equal(a, b)


def test_errors():
    with pytest.raises(ValueError, match="unknown RIR backend 'foo'"):
        make_rir_backend("foo")
    with pytest.raises(ValueError, match="not reachable"):
        sabine_absorption((10, 10, 3), 0.01)
