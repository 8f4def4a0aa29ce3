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


def test_a_presence_head_decides_absence_and_the_report_says_what_it_refused():
    rng = np.random.default_rng(1)
    y = rng.standard_normal(8000)
    x = y + rng.standard_normal(8000)
    rows = [dict(score_mixture("a", "TSE", x, y, 0.9 * y), presence=0.9),
            dict(score_mixture("b", "TAE", x, y, 0.9 * y), presence=0.3),  # there, but the head says no
            dict(score_mixture("c", "ABSE", x, y, 0.5 * x), presence=0.1),  # loud (the level rule: found) yet refused
            dict(score_mixture("d", "ABSR", x, y, x), presence=0.8)]  # not refused
    s = summarize(rows, absent_db=-25.0)
    assert s["presence_head"] and s["TSE"]["found"] == 100.0 and s["TAE"]["found"] == 0.0
    assert s["ABSE"]["absent"] == 100.0 and s["ABSE"]["refused"] == 100.0 and s["ABSR"]["refused"] == 0.0
    level_only = summarize([{k: v for k, v in r.items() if k != "presence"} for r in rows], absent_db=-25.0)
    assert level_only["ABSE"]["absent"] == 0.0 and "refused" not in level_only["ABSE"]
    lines = report_lines("Remix", [("headed", s)])
    assert any(ln.endswith(" refused, all ∅ |") for ln in lines)
    assert any(ln.startswith("| headed |") and ln.endswith("| 50 % |") for ln in lines)


def test_the_report_gives_the_average_without_the_overall_volume_change_beside_it():
    """OVC's exact gain scores up to 60 dB: the report shows the average over the other tasks too."""
    rng = np.random.default_rng(1)
    y = rng.standard_normal(16000)
    x = y + 0.5 * rng.standard_normal(16000)
    tse = score_mixture("m1", "TSE", x, y, y + (x - y) / 10 ** (10 / 20))  # SNRi 10 dB
    ovc = score_mixture("m2", "OVC", x, 2.0 * x, 2.0 * x + 1e-3 * rng.standard_normal(16000))  # near exact
    s = summarize([tse, ovc], absent_db=-25.0)
    lines = report_lines("Remix", [("blstm", s)])
    head = next(ln for ln in lines if ln.startswith("| system |"))
    assert head.endswith("| Average | without OVC |")
    row = next(ln for ln in lines if ln.startswith("| blstm |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert s["OVC"]["snri"] > 40 and cells[-2] == f"**{s['average']['snri']:.2f}**" and cells[-1] == "10.00"
    only_tse = report_lines("Remix", [("blstm", summarize([tse], absent_db=-25.0))])
    assert next(ln for ln in only_tse if ln.startswith("| blstm |")).endswith("| **10.00** | n/a |")
