"""Dynamic mixing: stage 3's rules on every rendered example, one stream per (seed, epoch, rank),
the same batches whatever the number of data-loader workers, and the ESPnet iterator around it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from espnet2.train.collate_fn import CommonCollateFn

from test_mixing import FS, _simulate, assert_mixture_rules, clean_dir  # noqa: F401 (fixture)
from tse2.bin import simulate_mixtures as tool
from tse2.simulation.dynamic import DynamicMixer
from tse2.tasks.dynamic_mixing import DynamicMixingIterFactory


@pytest.fixture
def mix_dir(clean_dir, tmp_path):  # noqa: F811
    ids = [f"train-{m:06d}" for m in range(4)]
    parts = _simulate(tmp_path, clean_dir, [ids], "a")
    (tmp_path / "all.list").write_text("".join(i + "\n" for i in ids))
    out = tmp_path / "train_mix"
    assert tool.main(["merge", "--data_dir", str(clean_dir), "--out_dir", str(out),
                      "--mix_list", str(tmp_path / "all.list"), *parts]) == 0
    return out


def test_every_example_keeps_stage_3_rules(mix_dir):
    mixer = DynamicMixer(mix_dir, seed=3)
    assert mixer.bank_size == 3 and len(mixer.spk2utts) == 3 and mixer.num_fixed == 4
    sirs = []
    for i in range(40):
        plan, m, _ = mixer.render(1, i)
        assert_mixture_rules(m.mixture, m.sources[0], m.sources[1], m.meta, tol=1e-9)
        assert m.enrollment.size == 0  # a separator does not need it
        sirs.append(plan.sir_db)
        _, ex = mixer.example(1, i)
        assert np.array_equal(ex["speech_mix"], m.mixture.astype(np.float32))  # no crop: the whole mixture
    assert np.std(sirs) > 2  # spread over U(-6, 6), not one value


def test_stream_is_a_function_of_seed_epoch_rank_and_index(mix_dir):
    a, b = DynamicMixer(mix_dir, seed=0), DynamicMixer(mix_dir, seed=0)
    x = a.example(2, 5)[1]["speech_mix"]
    assert np.array_equal(x, b.example(2, 5)[1]["speech_mix"])  # a rerun sees the same stream
    others = [a.example(3, 5), a.example(2, 5, rank=1), DynamicMixer(mix_dir, seed=1).example(2, 5), a.example(2, 6)]
    for _, o in others:
        assert o["speech_mix"].shape != x.shape or not np.array_equal(o["speech_mix"], x)
    ids = {a.example(e, i, r)[0] for e in (1, 2) for r in (0, 1) for i in range(5)}
    assert len(ids) == 20


def test_crop_holds_both_talkers(mix_dir):
    mixer = DynamicMixer(mix_dir, seed=0, chunk_length=FS // 2)
    for i in range(30):
        _, ex = mixer.example(1, i)
        assert {k: v.shape for k, v in ex.items()} == {k: (FS // 2,) for k in ("speech_mix", "speech_ref1", "speech_ref2")}
        for ref in ("speech_ref1", "speech_ref2"):
            assert np.sqrt(np.mean(ex[ref] ** 2)) > 1e-3  # each talker speaks in the window
        assert np.max(np.abs(ex["speech_mix"] - ex["speech_ref1"] - ex["speech_ref2"])) < 1e-6
    with pytest.raises(ValueError, match="chunk_length"):
        DynamicMixer(mix_dir, chunk_length=-1)


def _batches(factory, epoch):
    return [(keys, {k: v.clone() for k, v in batch.items()}) for keys, batch in factory.build_iter(epoch)]


def test_iter_factory_workers_ranks_and_epochs(mix_dir):
    mixer = DynamicMixer(mix_dir, seed=0, chunk_length=FS // 2)
    collate = CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)
    serial = DynamicMixingIterFactory(mixer, 4, 3, 0, 1, 0, collate)
    parallel = DynamicMixingIterFactory(mixer, 4, 3, 0, 1, 2, collate)
    a, b = _batches(serial, 1), _batches(parallel, 1)
    assert len(a) == 3 and [k for k, _ in a] == [k for k, _ in b]
    for (_, x), (_, y) in zip(a, b):
        assert set(x) == {"speech_mix", "speech_mix_lengths", "speech_ref1", "speech_ref1_lengths",
                          "speech_ref2", "speech_ref2_lengths"}
        assert x["speech_mix"].shape == (4, FS // 2) and all(torch.equal(x[k], y[k]) for k in x)
    assert [k for k, _ in _batches(serial, 2)] != [k for k, _ in a]  # a new epoch, new mixtures
    # two DDP ranks: half the batch each, disjoint examples
    r0, r1 = (_batches(DynamicMixingIterFactory(mixer, 4, 3, r, 2, 0, collate), 1) for r in (0, 1))
    assert all(x["speech_mix"].shape[0] == 2 for _, x in r0 + r1)
    assert not {k for keys, _ in r0 for k in keys} & {k for keys, _ in r1 for k in keys}
    with pytest.raises(ValueError, match="multiple"):
        DynamicMixingIterFactory(mixer, 3, 3, 0, 2, 0, collate)


def test_missing_simulation_settings_are_named(mix_dir):
    (mix_dir / "simulation.json").unlink()
    with pytest.raises(FileNotFoundError, match="simulation.json.*run stage 3"):
        DynamicMixer(mix_dir)


def test_prompted_examples_describe_their_target(mix_dir):
    """The single-stage baselines' examples: the target reference and a training prompt whose cue
    words say how the target differs from the interferer in that very mixture."""
    from tse2.cues.labels import BY_NAME, label_mixture
    from tse2.cues.parse import parse_prompt
    from tse2.simulation.mixing import mixture_row

    mixer = DynamicMixer(mix_dir, seed=0)
    checked = 0
    for i in range(30):
        uid, ex = mixer.prompted_example(1, i)
        plan, m, _ = mixer.render(1, int(uid.rsplit("-", 1)[1]))
        assert set(ex) == {"speech_mix", "speech_ref1", "prompt"} and isinstance(ex["prompt"], str)
        assert np.array_equal(ex["speech_ref1"], m.sources[plan.target - 1].astype(np.float32))
        labels = label_mixture(mixture_row(m, plan, mixer.tables, mixer.attrs, mixer.rooms[plan.bank_id]))
        for rel in parse_prompt(ex["prompt"]):
            if rel.cue in BY_NAME and rel.direction:
                assert labels[rel.cue].discriminative and np.sign(labels[rel.cue].delta) == rel.direction
                checked += 1
    assert checked >= 20
    a, b = mixer.prompted_example(2, 3), mixer.prompted_example(2, 3)
    assert a[1]["prompt"] == b[1]["prompt"] and np.array_equal(a[1]["speech_mix"], b[1]["speech_mix"])
