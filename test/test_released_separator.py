"""The embedded recipe's released separator: it verifies, loads, and separates an espeak mixture."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import ROOT, requires_espeak, two_talkers
from tse2.inference import Separator
from tse2.release import read_release
from tse2.scoring.metrics import si_sdr

RELEASE = ROOT / "egs/mini_espeak/tse2/released/sep_blstm_256x3_dm"


def test_release_is_complete_and_small():
    meta = read_release(RELEASE)  # checks every file's sha256
    assert meta["kind"] == "separator" and meta["training"]["dynamic_mixing"]
    assert (RELEASE / "model.pth").stat().st_size <= 20 * 1024 * 1024
    assert meta["command"].startswith("./run.sh") and "--speakers_per_lang" in meta["corpus"]
    assert meta["results"]["test"]["mean_pit_sisdri"] >= 6.0  # stage 6 on the demo's own test set


@requires_espeak
@pytest.mark.parametrize("sir_db", [0.0, -5.0])
def test_released_separator_separates_an_espeak_mixture(sir_db):
    a, b = (s.astype(np.float64) for s in two_talkers())  # two unseen voices, overlapping from 0.6 s
    b *= np.sqrt((a @ a) / (b @ b)) * 10 ** (-sir_db / 20)  # a over b at sir_db
    mix = a + b
    est = Separator.from_pretrained(RELEASE)(mix.astype(np.float32)).astype(np.float64)
    assert est.shape == (2, len(mix)) and np.isfinite(est).all()
    gains = [np.mean([si_sdr(est[i], ref) - si_sdr(mix, ref) for i, ref in zip(perm, (a, b))])
             for perm in itertools.permutations(range(2))]
    assert max(gains) > 6.0, f"PIT SI-SDRi {max(gains):.1f} dB at SIR {sir_db} dB"
