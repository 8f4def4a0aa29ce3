"""Shared fixtures: repository paths and small audio writers."""

from __future__ import annotations

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


requires_espeak = pytest.mark.skipif(
    not have_espeak() and not os.environ.get("CI"), reason="libespeak-ng is not installed (make install)"
)


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
