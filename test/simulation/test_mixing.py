"""Overlap rule branches, SIR, enrollment choice, determinism, and the stage-3 tool end to end."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from conftest import write_tone
from tse2.attributes.energy import active_rms_db
from tse2.bin import extract_attributes, simulate_mixtures as tool
from tse2.simulation.mixing import overlap_layout, plan_mixture
from tse2.utils.datadir import CtmWord, read_map, spk2utt_from_utt2spk, validate_data_dir, write_ctm, write_map

FS = 16000


def test_short_branch_pads_the_shorter_at_a_uniform_offset():
    offsets = []
    for k in range(400):
        off1, off2, n = overlap_layout(2 * FS, 5 * FS, FS, np.random.default_rng(k))
        assert off2 == 0 and n == 5 * FS and 0 <= off1 <= 3 * FS
        offsets.append(off1)
        off1, off2, n = overlap_layout(5 * FS, 2 * FS, FS, np.random.default_rng(k))
        assert off1 == 0 and n == 5 * FS and 0 <= off2 <= 3 * FS
    assert np.mean(offsets) == pytest.approx(1.5 * FS, rel=0.1)  # uniform on [0, 3 s]
    assert overlap_layout(FS, FS, FS, np.random.default_rng(0)) == (0, 0, FS)


def test_long_branch_fixed_offset():
    off1, off2, n = overlap_layout(4 * FS, 5 * FS, FS, np.random.default_rng(0))
    assert (off1, off2, n) == (0, 1 * FS, 6 * FS)
    overlap = min(off1 + 4 * FS, off2 + 5 * FS) - max(off1, off2)
    assert overlap == (4 + 5 - 6) * FS
    with pytest.raises(ValueError, match="exceed max_len"):
        overlap_layout(7 * FS, 4 * FS, FS, np.random.default_rng(0))


def assert_mixture_rules(mix, s1, s2, meta, tol=2e-4):
    """Stage 3's rules on one rendered mixture: the SIR drawn in U(-6, 6) dB holds on the active
    speech of the references, the mixture is their sum, two speakers, and the overlap layout."""
    assert -6 <= meta["sir_db"] <= 6
    sir = active_rms_db(s1, FS, meta["s1"]["segments"]) - active_rms_db(s2, FS, meta["s2"]["segments"])
    assert sir == pytest.approx(meta["sir_db"], abs=0.1)
    assert np.max(np.abs(mix - s1 - s2)) < tol
    assert meta["s1"]["utt"].split("-")[0] != meta["s2"]["utt"].split("-")[0]
    on1, on2 = round(meta["s1"]["onset"] * FS), round(meta["s2"]["onset"] * FS)
    n1, n2, n = round(meta["s1"]["length"] * FS), round(meta["s2"]["length"] * FS), meta["num_samples"]
    if min(n1, n2) < 3 * FS:  # the shorter signal lies inside the longer one
        (a, na), (b, nb) = sorted(((on1, n1), (on2, n2)), key=lambda x: x[1])
        assert b == 0 and nb == n and 0 <= a <= n - na
    else:  # S1 at 0, S2 ends at 6 s
        assert on1 == 0 and on2 == 6 * FS - n2 and n == 6 * FS


def _attrs(utts, dur=4.0):
    return {u: {"utt": u, "duration": dur, "speech_start": 0.2, "speech_end": dur - 0.2,
                "segments": [[0.2, dur - 0.2]]} for u in utts}


def test_plan_pairs_two_speakers_and_enrolls_another_utterance_of_the_target():
    utts = [f"s{s}-u{i}" for s in range(4) for i in range(3)]
    utt2spk = {u: u.split("-")[0] for u in utts}
    spk2utts = {}
    for u in utts:
        spk2utts.setdefault(utt2spk[u], []).append(u)
    attrs = _attrs(utts)
    targets = []
    for k in range(300):
        p = plan_mixture(0, f"m{k}", utts, utt2spk, spk2utts, attrs, 10)
        tgt = p.utt1 if p.target == 1 else p.utt2
        assert utt2spk[p.utt1] != utt2spk[p.utt2]
        assert p.enroll_utt != tgt and utt2spk[p.enroll_utt] == utt2spk[tgt]
        assert -6 <= p.sir_db <= 6 and 0 <= p.bank_id < 10
        targets.append(p.target)
    assert 0.4 < np.mean(np.array(targets) == 1) < 0.6
    assert plan_mixture(0, "m7", utts, utt2spk, spk2utts, attrs, 10) == plan_mixture(0, "m7", utts, utt2spk, spk2utts, attrs, 10)


@pytest.fixture
def clean_dir(tmp_path):
    d = tmp_path / "data"
    utts = {f"spk{s}-u{i}": f"spk{s}" for s in "ABC" for i in (1, 2)}
    wavs = {}
    for k, u in enumerate(utts):
        secs = 2.0 if k % 3 == 0 else 4.5  # both branches of the overlap rule occur
        wavs[u] = str(write_tone(tmp_path / "wav" / f"{u}.wav", seconds=secs, f0=120 + 30 * k))
    write_map(d / "wav.scp", wavs)
    write_map(d / "utt2spk", utts)
    write_map(d / "spk2utt", spk2utt_from_utt2spk(utts))
    write_map(d / "utt2lang", {u: "en" for u in utts})
    write_map(d / "spk2gender", {"spkA": "f", "spkB": "m", "spkC": "f"})
    durs = {u: sf.info(p).duration for u, p in wavs.items()}
    write_ctm(d / "words.ctm", [CtmWord(u, 0.1, durs[u] - 0.2, "word") for u in utts])
    assert extract_attributes.main(["extract", "--data_dir", str(d), "--out", str(d / "attributes.jsonl")]) == 0
    return d


def _simulate(tmp_path, d, lists, tag):
    bank = tmp_path / "bank"
    (tmp_path / "bank.ids").write_text("0\n1\n2\n")
    assert tool.main(["bank", "--bank_dir", str(bank), "--split", "train", "--ids", str(tmp_path / "bank.ids")]) == 0
    parts = []
    for k, ids in enumerate(lists):
        (tmp_path / f"{tag}.{k}.list").write_text("".join(i + "\n" for i in ids))
        out = tmp_path / f"{tag}.{k}.jsonl"
        assert tool.main(["mix", "--data_dir", str(d), "--bank_dir", str(bank), "--bank_size", "3",
                          "--mix_list", str(tmp_path / f"{tag}.{k}.list"), "--wav_dir", str(tmp_path / tag),
                          "--out", str(out)]) == 0
        parts.append(str(out))
    return parts


def _md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def test_tool_sir_determinism_and_data_dir(clean_dir, tmp_path):
    ids = [f"train-{m:06d}" for m in range(6)]
    parts = _simulate(tmp_path, clean_dir, [ids[:3], ids[3:]], "a")
    (tmp_path / "all.list").write_text("".join(i + "\n" for i in ids))
    out_dir = tmp_path / "train_mix"
    assert tool.main(["merge", "--data_dir", str(clean_dir), "--out_dir", str(out_dir),
                      "--mix_list", str(tmp_path / "all.list"), *parts]) == 0
    assert validate_data_dir(out_dir, fs=FS) == []
    rows = [json.loads(x) for x in (out_dir / "mixtures.jsonl").read_text().splitlines()]
    assert [r["mix"] for r in rows] == ids
    assert read_map(out_dir / "utt2target") == {r["mix"]: str(r["target"]) for r in rows}
    for r in rows:
        s1, _ = sf.read(r["wav"]["s1"])
        s2, _ = sf.read(r["wav"]["s2"])
        mix, _ = sf.read(r["wav"]["mix"])
        enroll, _ = sf.read(r["wav"]["enroll"])
        assert len(s1) == len(s2) == len(mix) == len(enroll) == round(r["length"] * FS)
        assert_mixture_rules(mix, s1, s2, r)  # measured on the written wavs
        assert r["enroll"]["utt"] != r["target_utt"]
        assert r["enroll"]["utt"].split("-")[0] == r["target_utt"].split("-")[0]
        assert 0.3 <= r["s1"]["distance"] <= 1.5 and 0.3 <= r["room"]["rt60"] <= 0.6
    # one job instead of two, and one mixture alone: bit-identical wavs
    _simulate(tmp_path, clean_dir, [ids], "b")
    _simulate(tmp_path, clean_dir, [[ids[4]]], "c")
    for kind in ("mix", "s1", "s2", "enroll"):
        assert _md5(tmp_path / "a" / f"{ids[4]}_{kind}.wav") == _md5(tmp_path / "b" / f"{ids[4]}_{kind}.wav") \
            == _md5(tmp_path / "c" / f"{ids[4]}_{kind}.wav")
    for m in ids:
        assert _md5(tmp_path / "a" / f"{m}_mix.wav") == _md5(tmp_path / "b" / f"{m}_mix.wav")


def test_merge_refuses_missing_mixtures(clean_dir, tmp_path):
    parts = _simulate(tmp_path, clean_dir, [["train-000000"]], "a")
    (tmp_path / "all.list").write_text("train-000000\ntrain-000001\n")
    assert tool.main(["merge", "--data_dir", str(clean_dir), "--out_dir", str(tmp_path / "o"),
                      "--mix_list", str(tmp_path / "all.list"), *parts]) == 1


def test_mix_needs_attributes(clean_dir, tmp_path):
    (clean_dir / "attributes.jsonl").unlink()
    (tmp_path / "l").write_text("train-000000\n")
    assert tool.main(["mix", "--data_dir", str(clean_dir), "--bank_dir", str(tmp_path), "--bank_size", "1",
                      "--mix_list", str(tmp_path / "l"), "--wav_dir", str(tmp_path / "w"),
                      "--out", str(tmp_path / "o.jsonl")]) == 1
