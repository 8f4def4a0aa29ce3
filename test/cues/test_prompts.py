"""Prompts: relative and independent differ only in the cue word; cue sets; the stage-4 tool."""

from __future__ import annotations

import json

import numpy as np

from tse2.bin import make_prompts as tool
from tse2.cues.labels import CONTINUOUS, IndependentBins, label_mixture
from tse2.cues.prompts import VERBS, choose_cue_sets, prompt_pair

RELATIVE_WORDS = {w for c in CONTINUOUS for w in (c.above, c.below, "similar")}
INDEPENDENT_WORDS = {w for c in CONTINUOUS for w in c.bins}


def _rows(n=60, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(n):
        sides = []
        for _ in range(2):
            sides.append({"lang": str(rng.choice(["en", "fr", "zh"])), "text": f"sentence {rng.integers(9)}",
                          "gender": str(rng.choice(["f", "m"])), "emotion": str(rng.choice(["happy", "sad"])),
                          "rms_db": float(rng.uniform(-30, -15)), "distance": float(rng.uniform(0.3, 1.5)),
                          "age": float(rng.integers(18, 80)), "f0_mean": float(rng.uniform(90, 260)),
                          "f0_span": float(rng.uniform(20, 120)), "speaking_rate": float(rng.uniform(200, 400)),
                          "speaking_duration": float(rng.uniform(2, 6)), "onset": float(rng.uniform(0, 2))})
        rows.append({"mix": f"train-{m:06d}", "target": int(rng.integers(1, 3)), "s1": sides[0], "s2": sides[1]})
    return rows


def test_relative_and_independent_prompts_differ_only_in_cue_words():
    rows = _rows()
    bins = IndependentBins.fit({c.name: [r[s][c.field] for r in rows for s in ("s1", "s2")] for c in CONTINUOUS if c.bins})
    pairs = 0
    for k, row in enumerate(rows):
        labels = label_mixture(row, bins)
        for cue_type, cues in choose_cue_sets(labels, np.random.default_rng(k), keep_similar=True):
            rel, ind = prompt_pair(cues, [0, k, len(cue_type)])
            assert any(v in rel.lower() for v in VERBS)
            if ind is None:
                assert any(c.independent is None for c in cues)
                continue
            if any(c.relative == "same" for c in cues):
                # discrete "same" is a phrase ("the same language"), the independent cue a value ("Chinese")
                assert rel != ind
                continue
            a, b = rel.split(), ind.split()
            assert len(a) == len(b), (rel, ind)
            for x, y in zip(a, b):
                if x != y:
                    assert x in RELATIVE_WORDS and y in INDEPENDENT_WORDS, (rel, ind)
            pairs += 1
    assert pairs > 100


def test_cue_sets():
    rows = _rows(n=200)
    for k, row in enumerate(rows):
        labels = label_mixture(row)
        sets = dict(choose_cue_sets(labels, np.random.default_rng(k), keep_similar=False))
        disc = [lab for lab in labels.values() if lab.discriminative]
        assert all(cues[0].discriminative for t, cues in sets.items() if t not in ("random", "all"))
        if len(disc) >= 3:
            assert 2 <= len(sets["random"]) <= len(disc) - 1
        if len(disc) >= 2:
            assert len(sets["all"]) == len(disc)
        with_similar = dict(choose_cue_sets(labels, np.random.default_rng(k), keep_similar=True))
        assert set(with_similar) >= set(sets)


def test_tool_label_and_report(tmp_path, caplog):
    for name, rows in (("train_mix", _rows(80, 1)), ("dev_mix", _rows(30, 2))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mixtures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    bins = tmp_path / "train_mix/independent_bins.json"
    assert tool.main(["label", "--mix_dir", str(tmp_path / "dev_mix"), "--bins", str(bins)]) == 1
    assert "independent-cue bins are missing" in caplog.text
    assert tool.main(["label", "--mix_dir", str(tmp_path / "train_mix"), "--bins", str(bins), "--fit_bins"]) == 0
    assert tool.main(["label", "--mix_dir", str(tmp_path / "dev_mix"), "--bins", str(bins), "--keep_similar", "true"]) == 0
    train = [json.loads(x) for x in (tmp_path / "train_mix/prompts.jsonl").read_text().splitlines()]
    dev = [json.loads(x) for x in (tmp_path / "dev_mix/prompts.jsonl").read_text().splitlines()]
    # training: no similar relative prompt; an independent one is flagged when both are in one bin
    assert not any(p["similar"] for p in train if p["kind"] == "relative") and any(p["similar"] for p in dev)
    assert len({p["id"] for p in train}) == len(train)
    assert {p["kind"] for p in train} == {"relative", "independent"}
    assert tool.main(["report", "--out", str(tmp_path / "report.md"), str(tmp_path / "train_mix"),
                      str(tmp_path / "dev_mix")]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "| pitch | higher |" in report and "| all |" in report and "train_mix | dev_mix" in report
    # deterministic
    before = (tmp_path / "train_mix/prompts.jsonl").read_text()
    assert tool.main(["label", "--mix_dir", str(tmp_path / "train_mix"), "--bins", str(bins), "--fit_bins"]) == 0
    assert (tmp_path / "train_mix/prompts.jsonl").read_text() == before


def test_heldout_phrasings_are_unseen_in_training_and_parse():
    """Held-out prompts (relative: the engine's held-out grammar; independent: the held-out
    templates) share no verb or frame with the training templates, keep relative/independent
    aligned, and the attribute selector's parser reads every cue of both."""
    from tse2.cues.parse import parse_prompt
    from tse2.cues.prompts import HELDOUT_VERBS, TRAIN_FRAMES, TRAIN_VERBS

    rows = _rows(n=120, seed=3)
    bins = IndependentBins.fit({c.name: [r[s][c.field] for r in rows for s in ("s1", "s2")] for c in CONTINUOUS if c.bins})
    assert not set(TRAIN_VERBS) & set(HELDOUT_VERBS)
    starts = {f.split("{")[0] for f in TRAIN_FRAMES if not f.startswith("{")}
    parsed = 0
    for k, row in enumerate(rows):
        labels = label_mixture(row, bins)
        for cue_type, cues in choose_cue_sets(labels, np.random.default_rng(k), keep_similar=False):
            rel, ind = prompt_pair(cues, [0, k, len(cue_type)], "heldout")
            assert not any(f" {v} " in f" {rel.lower()} " for v in TRAIN_VERBS if v not in ("keep",)), rel
            assert not any(rel.startswith(s) for s in starts), rel
            for text in (rel, ind) if ind else (rel,):
                got = {r.cue for r in parse_prompt(text)}
                assert got == {c.cue for c in cues}, (text, got)
                parsed += 1
    assert parsed > 500


def test_independent_prompts_in_one_bin_are_flagged_similar(tmp_path):
    """Paper: the independent system leaves out pairs whose two talkers fall in the same bin, even
    when their relative cue differs."""
    rows = _rows(n=80, seed=5)
    mix = tmp_path / "train_mix"
    mix.mkdir()
    (mix / "mixtures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert tool.main(["label", "--mix_dir", str(mix), "--bins", str(tmp_path / "bins.json"), "--fit_bins"]) == 0
    bins = IndependentBins.load(tmp_path / "bins.json")
    prompts = [json.loads(line) for line in open(mix / "prompts.jsonl")]
    checked = 0
    for p in prompts:
        if p["kind"] != "independent" or p["cue_type"] in ("all", "random", "language", "gender", "emotion",
                                                            "transcription"):
            continue
        row = next(r for r in rows if r["mix"] == p["mix"])
        tar, inf = (row["s1"], row["s2"]) if row["target"] == 1 else (row["s2"], row["s1"])
        from tse2.cues.labels import BY_NAME

        cue = BY_NAME[p["cue_type"]]
        same_bin = bins.category(cue.name, tar[cue.field]) == bins.category(cue.name, inf[cue.field])
        assert p["similar"] == same_bin, p
        checked += 1
    assert checked > 50
