"""The embedded recipe's released separator: it verifies, loads (float16 on disk, float32 in the model),
and separates an espeak mixture."""

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
    # float16 on disk: 2 bytes a parameter (4.8 M), with a little room for the archive's index
    assert meta["stored_dtype"] == "float16"
    assert (RELEASE / "model.pth").stat().st_size <= 2 * meta["parameters"] + 64 * 1024
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


def _long_talkers(seconds: float = 20.0):
    """Two espeak talkers speaking on and off for ``seconds``: A's sentences at 0, 5, 10, 15 s, B's
    at 2.5, 7.5, 12.5 s, so that each chunk boundary falls inside someone's speech."""
    from tse2.corpus.espeak import EspeakSynth

    synth = EspeakSynth()
    n = int(seconds * 16000)
    x = np.zeros((2, n))
    lines = [("The quick brown fox jumps over the lazy dog.", "en-us", 25, 0.0),
             ("She sells sea shells by the shore.", "en-us+f3", 75, 2.5),
             ("We should check the weather before the hike.", "en-us", 25, 5.0),
             ("Twenty young trees were planted behind the village.", "en-us+f3", 75, 7.5),
             ("Please call me back when you get home tonight.", "en-us", 25, 10.0),
             ("The library closes early on public holidays.", "en-us+f3", 75, 12.5),
             ("A cold wind blew across the empty square.", "en-us", 25, 15.0)]
    for k, (text, voice, pitch, at) in enumerate(lines):
        s = synth.synthesize(text, voice, pitch=pitch, sample_rate=16000).audio.astype(np.float64)
        i, row = int(at * 16000), k % 2
        s = s[: n - i]
        x[row, i:i + len(s)] += (0.25 if row == 0 else 0.35) * s / np.abs(s).max()
    return x[0], x[1]


@requires_espeak
def test_chunked_separation_of_a_long_input_matches_one_pass():
    """20 s in 12 s chunks overlapping by 2 s: the same talker stays on the same output across the
    chunk boundary, and each output is within 0.5 dB SI-SDR of the one-pass separation."""
    a, b = _long_talkers()
    mix = (a + b).astype(np.float32)
    sep = Separator.from_pretrained(RELEASE)
    whole = sep.one_pass(mix).astype(np.float64)
    chunked = sep(mix).astype(np.float64)  # longer than Separator.CHUNK_S: chunked
    assert chunked.shape == whole.shape
    short = sep.chunked(mix, chunk=4 * 16000, overlap=16000)  # many boundaries
    for est in (chunked, short.astype(np.float64)):
        perm = max(itertools.permutations(range(2)), key=lambda p: si_sdr(whole[p[0]], a) + si_sdr(whole[p[1]], b))
        order = max(itertools.permutations(range(2)), key=lambda p: si_sdr(est[p[0]], a) + si_sdr(est[p[1]], b))
        assert order == perm, "the chunks' talker order differs from the one-pass separation's"
        for k, ref in zip(order, (a, b)):
            # the same talker on the same output throughout: each half scores like the whole
            half = len(mix) // 2
            assert si_sdr(est[k][half:], ref[half:]) > 3.0 and si_sdr(est[k][:half], ref[:half]) > 3.0
    for k, ref in zip(perm, (a, b)):
        assert abs(si_sdr(chunked[k], ref) - si_sdr(whole[k], ref)) < 0.5
