"""Remix scoring (tse2.scoring.remix): SNRi on a mixture of known SNR, the per-task summary and the report."""

import numpy as np
import pytest

from tse2.scoring.remix import report_lines, score_mixture, summarize


def test_snri_of_a_known_mixture_and_the_summary():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(16000)
    noise = rng.standard_normal(16000)
    x = y + noise * np.sqrt(np.sum(y ** 2) / np.sum(noise ** 2)) / 10 ** (5 / 20)  # 5 dB SNR
    half_way = y + (x - y) / 10 ** (10 / 20)  # the interference 10 dB down: SNRi 10 dB
    row = score_mixture("m1", "TSE", x, y, half_way)
    assert row["snr_mix"] == pytest.approx(5.0, abs=1e-3) and row["snri"] == pytest.approx(10.0, abs=1e-3)
    silent = score_mixture("m2", "ABSE", x, y, np.zeros_like(x))  # "keep only the train": only the level
    assert set(silent) == {"mix", "task", "level"} and silent["level"] < -100
    same = score_mixture("m3", "ABSR", x, y, x)  # "remove the train": the mixture unchanged
    assert same["snr"] > 100
    s = summarize([row, silent, same], absent_db=-25.0)
    assert s["TSE"]["snri"] == 10.0 and s["TSE"]["found"] == 100.0 and s["average"]["mixtures"] == 1
    assert s["ABSE"]["absent"] == 100.0 and s["absent_db"] == -25.0
    lines = report_lines("Remix", [("blstm, train phrasings", s)])
    assert lines[0] == "# Remix" and any(ln.startswith("| blstm, train phrasings | 10.0 | **10.00** |") for ln in lines)
    assert any("∅E level" in ln for ln in lines)
