"""Remix mixtures: a recipe renders to the same sources, the written sets are exact sums, a rerun
keeps what is written, dynamic slots, and a pool that cannot give distinguishable speakers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tse2.simulation.remix_tasks import remix_target
from tse2.simulation.mixing import mixture_rng
from tse2.simulation.remix import AudioCache, MixRecipe, draw_recipe, load_pool, render, write_set, write_slots
from tse2.utils.datadir import read_map

FS = 8000


def _speech_dir(d: Path, speakers=(("f", "sad"), ("m", "happy"), ("f", "fast"))) -> Path:
    rng = np.random.default_rng(0)
    lines = {k: [] for k in ("wav.scp", "utt2spk", "utt2style")}
    genders = []
    for i, (g, style) in enumerate(speakers):
        spk = f"s{i}"
        genders.append(f"{spk} {g}")
        for j in range(2):
            uid = f"{spk}_{style}_{j}"
            t = np.arange(int(FS * (1.5 + j))) / FS
            x = 0.3 * np.sin(2 * np.pi * (120 + 60 * i) * t) * (1 + 0.1 * rng.standard_normal(len(t)))
            path = d / "wav" / f"{uid}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, x.astype(np.float32), FS)
            lines["wav.scp"].append(f"{uid} {path}")
            lines["utt2spk"].append(f"{uid} {spk}")
            lines["utt2style"].append(f"{uid} {style}")
    for name, rows in lines.items():
        (d / name).write_text("\n".join(sorted(rows)) + "\n")
    (d / "spk2gender").write_text("\n".join(genders) + "\n")
    return d


def _sound_dir(d: Path, categories=("birds", "water", "music")) -> Path:
    rng = np.random.default_rng(1)
    wav, cat = [], []
    for c in categories:
        for j in range(2):
            uid = f"{c}-{j}"
            path = d / "wav" / f"{uid}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, (0.2 * rng.standard_normal(int(FS * (1 + 3 * j)))).astype(np.float32), FS)
            wav.append(f"{uid} {path}")
            cat.append(f"{uid} {c}")
    (d / "wav.scp").write_text("\n".join(wav) + "\n")
    (d / "utt2category").write_text("\n".join(cat) + "\n")
    return d


@pytest.fixture
def pool(tmp_path):
    return load_pool(str(_speech_dir(tmp_path / "speech")), str(_sound_dir(tmp_path / "sound")))


def test_a_recipe_renders_the_same_sources_and_survives_json(pool):
    cache = AudioCache(FS)
    r = draw_recipe("m0", pool, cache, mixture_rng(0, "m0"), length=2 * FS)
    again = draw_recipe("m0", pool, cache, mixture_rng(0, "m0"), length=2 * FS)
    assert r == again and MixRecipe.from_json(r.to_json()) == r
    kinds = [s.kind for s in r.sources]
    assert kinds == ["speech", "speech", "audio", "audio"]
    a, b = r.sources[0], r.sources[1]
    assert a.gender != b.gender or a.style != b.style
    assert r.sources[2].category != r.sources[3].category
    src = render(r, cache)
    np.testing.assert_array_equal(src, render(r, cache))
    assert src.shape == (4, 2 * FS)
    assert 2 * np.abs(src).sum(0).max() < 1.0  # no "volume up" target can clip
    mix_db = 10 * np.log10(np.mean(src.sum(0) ** 2))
    assert mix_db <= -25.0 + 0.01


def test_a_written_set_is_the_exact_sum_of_its_sources_and_a_rerun_keeps_it(pool, tmp_path):
    out, wav = tmp_path / "set", tmp_path / "wavs"
    counts = write_set(str(out), str(wav), pool, FS, 32, seed=3, length=1.0)
    assert sum(counts.values()) == 32 and counts == {t: 2 for t in counts} and len(counts) == 16
    mix, ref, gains, task = (read_map(out / n) for n in ("wav.scp", "spk1.scp", "gains", "task"))
    for k in list(mix)[:8]:
        src = np.stack([sf.read(read_map(out / f"src{i}.scp")[k])[0] for i in range(1, 5)])
        g = [float(x) for x in gains[k].split()]
        np.testing.assert_allclose(sf.read(mix[k])[0], src.sum(0), atol=2 / 32768)
        np.testing.assert_allclose(sf.read(ref[k])[0], remix_target(src, g), atol=3 / 32768)
    before = {k: Path(p).stat().st_mtime_ns for k, p in mix.items()}
    write_set(str(out), str(wav), pool, FS, 32, seed=3, length=1.0)
    assert {k: Path(p).stat().st_mtime_ns for k, p in mix.items()} == before
    prompts, held = read_map(out / "prompt"), read_map(out / "prompt_heldout")
    assert all(prompts[k] and held[k] for k in mix) and sum(prompts[k] != held[k] for k in mix) > 28


def test_zero_shot_compositions_only_get_their_tasks(pool, tmp_path):
    speech_only = load_pool(pool.speech and str(Path(pool.speech[0].path).parents[1]), None)
    counts = write_set(str(tmp_path / "2s"), str(tmp_path / "w"), speech_only, FS, 12, seed=1, n_audio=0, length=1.0)
    assert set(counts) == {"TSE", "TSU", "TSD", "MVC", "MEVC", "OVC"}


def test_slots_and_a_pool_without_distinguishable_speakers(tmp_path):
    write_slots(str(tmp_path / "slots"), 5, 16000)
    assert len(read_map(tmp_path / "slots" / "recipe")) == 5
    same = load_pool(str(_speech_dir(tmp_path / "sp", (("f", "sad"), ("f", "sad")))), None)
    with pytest.raises(ValueError, match="differ in gender or style"):
        draw_recipe("m", same, AudioCache(FS), np.random.default_rng(0), n_audio=0, length=FS)


def test_an_absent_set_names_what_the_mixture_lacks_with_silence_or_the_mixture_as_target(pool, tmp_path):
    out = tmp_path / "absent"
    counts = write_set(str(out), str(tmp_path / "w"), pool, FS, 8, seed=5, length=1.0, write_sources=False,
                       absent=True)
    assert counts == {"ABSE": 2, "ABSR": 2, "ABSU": 2, "ABSD": 2}
    assert not list(out.glob("src*.scp"))
    mix, ref, task, recipe = (read_map(out / n) for n in ("wav.scp", "spk1.scp", "task", "recipe"))
    for k in mix:
        y, x = sf.read(ref[k])[0], sf.read(mix[k])[0]
        if task[k] == "ABSE":
            assert not np.any(y)
        else:
            np.testing.assert_array_equal(y, x)
        present = {s.category for s in MixRecipe.from_json(recipe[k]).sources if s.kind == "audio"}
        assert all(c not in read_map(out / "prompt")[k].lower() for c in present)
