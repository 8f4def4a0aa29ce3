"""The end-user extractor: a recording of two talkers and a sentence in, the described talker out.

    from tse2 import TextGuidedExtractor

    ex = TextGuidedExtractor.from_pretrained("exp/packed/tflocoformer_tiny_minilm_w2v_tiny")
    result = ex(wav, "Extract the speaker who starts first.", fs=44100)
    result.target, result.other, result.scores, result.selected

A packed model dir (``tse2.bin.pack``, stage 10) holds everything, with paths relative to it:

    tse2_model.json            format, sample rate, software versions, what was packed from where
    separator/config.yaml      the ESPnet enhancement config of stage 5
    separator/model.pth        its checkpoint
    classifier/config.yaml     the ESPnet classifier config of stage 7, model dirs made relative
    classifier/model.pth       its checkpoint
    classifier/text_encoder/   the text model dir with its tokenizer (when the classifier has one)
    classifier/speech_encoder/ the pretrained speech model dir (when it was built from one)

The selector is the trained classifier, or ``selector="attributes"``: the training-free selector
of :mod:`tse2.attributes.selector`, which measures the prompt's cues on both separated outputs.
Any sample rate and channel count comes in; it is down-mixed and resampled (with a log line) and the
outputs go back at the input's rate.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from tse2.utils.audio import AudioError, read_audio

log = logging.getLogger("tse2.extractor")

FORMAT = 1
META = "tse2_model.json"
SELECTORS = ("classifier", "attributes")
MODEL_DIR_KEYS = (("text_encoder_conf", "text_encoder"), ("speech_encoder_conf", "speech_encoder"))


# ------------------------------------------------------------------------------------ audio in


def to_model_input(audio: np.ndarray, rate: int, fs: int, name: str = "input") -> np.ndarray:
    """Mono float32 at ``fs``: down-mixes (N, C) audio and resamples, logging what it did."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        if audio.shape[1] > 1:
            log.info("%s: %d channels, down-mixed to mono", name, audio.shape[1])
        audio = audio.mean(axis=1)
    elif audio.ndim != 1:
        raise AudioError(f"{name}: expected a waveform of shape (samples,) or (samples, channels), "
                         f"got {audio.shape}")
    if audio.size == 0:
        raise AudioError(f"{name}: contains no samples")
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{name}: contains NaN or infinite samples")
    if rate <= 0:
        raise AudioError(f"{name}: invalid sample rate {rate}")
    if rate != fs:
        import librosa

        log.info("%s: resampled from %d Hz to the model's %d Hz", name, rate, fs)
        audio = librosa.resample(audio, orig_sr=rate, target_sr=fs).astype(np.float32)
    if audio.size < fs // 4:
        raise AudioError(f"{name}: {audio.size / fs:.3f} s of audio; the extractor needs at least 0.25 s")
    return audio


def back_to_rate(audio: np.ndarray, fs: int, rate: int, length: int) -> np.ndarray:
    if rate != fs:
        import librosa

        audio = librosa.resample(audio, orig_sr=fs, target_sr=rate)
    audio = np.asarray(audio, dtype=np.float32)[:length]
    return np.pad(audio, (0, length - len(audio)))


# ------------------------------------------------------------------------------------- models


class Separator:
    """Callable ``separator(waveform) -> (num_spk, N)`` from an ESPnet enhancement config + checkpoint.

    A separator trained with a scale-invariant loss gives each output an arbitrary gain.  Outputs
    are therefore scaled to their projection onto the mixture (``g_k = <x, s_k> / <s_k, s_k>``), so
    that they come out at the level they have in the recording: the loudness cue stays measurable
    and the files play at a sensible volume.  SI-SDR is unchanged by it.
    """

    def __init__(self, config: Path, model_file: Path, device: str = "cpu") -> None:
        from tse2.tasks.enh import Tse2EnhancementTask

        if not Path(config).is_file():
            raise FileNotFoundError(f"{config}: missing; run stage 5 (separator training)")
        self.model, _ = Tse2EnhancementTask.build_model_from_file(config, model_file, device)
        self.model.eval()
        self.device = device

    def __call__(self, wav: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            x = torch.as_tensor(wav, dtype=torch.float32, device=self.device)[None]
            lengths = torch.tensor([x.shape[1]], device=self.device)
            feats, flens = self.model.encoder(x, lengths)
            masked, flens, _ = self.model.separator(feats, flens, {})
            outs = [self.model.decoder(m, lengths)[0] for m in masked]
        est = np.stack([o[0, : x.shape[1]].cpu().numpy() for o in outs]).astype(np.float64)
        mix = np.asarray(wav, dtype=np.float64)
        gains = est @ mix / np.maximum(np.sum(est ** 2, axis=1), 1e-12)
        return (est * gains[:, None]).astype(np.float32)


def _resolved_config(config: Path, root: Path) -> Dict:
    """An ESPnet classifier config with the packed model dirs made absolute."""
    import yaml

    with open(config, encoding="utf-8") as f:
        conf = yaml.safe_load(f)
    for key, _ in MODEL_DIR_KEYS:
        sub = conf.get(key) or {}
        md = sub.get("model_dir")
        if md and not str(md).startswith("pkg://") and not Path(md).is_absolute():
            sub["model_dir"] = str(root / md)
    return conf


class ClassifierSelector:
    """The trained text (or enrollment) classifier: picks the candidate nearer the prompt."""

    name = "classifier"

    def __init__(self, config: Path, model_file: Path, device: str = "cpu") -> None:
        import torch

        from tse2.tasks.cls import Tse2ClassifierTask

        if not Path(config).is_file():
            raise FileNotFoundError(f"{config}: missing; run stage 7 (classifier training)")
        conf = _resolved_config(Path(config), Path(config).parent)
        self.args = argparse.Namespace(**conf)
        self.model = Tse2ClassifierTask.build_model(self.args)
        state = torch.load(model_file, map_location=device, weights_only=True)
        self.model.load_state_dict(state)
        self.model.to(device).eval()
        self.cue = getattr(self.args, "cue", "text")
        self.preprocess = Tse2ClassifierTask.build_preprocess_fn(self.args, False)
        self.device = device

    def __call__(self, cands: np.ndarray, fs: int, prompt: Optional[str] = None,
                 enroll: Optional[np.ndarray] = None) -> Tuple[int, List[float], Dict]:
        import torch

        data = {"cand1": cands[0].astype(np.float32), "cand2": cands[1].astype(np.float32)}
        if self.cue == "text":
            if prompt is None or not str(prompt).strip():
                raise ValueError("this extractor's classifier needs a text prompt")
            data["prompt"] = prompt
        else:
            if enroll is None:
                raise ValueError("this extractor's classifier selects by enrollment: give an enrollment utterance")
            data["enroll"] = np.asarray(enroll, dtype=np.float32)
        data = self.preprocess("input", data)
        batch = {}
        for k, v in data.items():
            t = torch.as_tensor(v)[None].to(self.device)
            batch[k], batch[f"{k}_lengths"] = t, torch.tensor([t.shape[1]], device=self.device)
        with torch.no_grad():
            s1, s2 = self.model.similarities(**batch)
        sims = [float(s1[0]), float(s2[0])]
        return int(np.argmax(sims)), sims, {"similarity": sims}


# ------------------------------------------------------------------------------------ extractor


@dataclass
class Extraction:
    """The extractor's answer; waveforms at ``fs`` (the input's rate)."""

    target: np.ndarray
    other: np.ndarray
    selected: int  # 1 or 2: which separated output was picked
    scores: List[float]  # the selector's score of each output (cosine similarity for the classifier)
    fs: int
    details: Dict = field(default_factory=dict)


class TextGuidedExtractor:
    """Separator + selector.  Call it with a waveform (or a path) and a prompt."""

    def __init__(self, separator, selector, fs: int) -> None:
        self.separator, self.selector, self.fs = separator, selector, int(fs)

    @classmethod
    def from_pretrained(cls, model_dir: Union[str, Path], device: str = "cpu",
                        selector: str = "classifier") -> "TextGuidedExtractor":
        root = Path(model_dir).resolve()
        meta_path = root / META
        if not meta_path.is_file():
            raise FileNotFoundError(f"{root} is not a packed tse2 model ({META} is missing; "
                                    "make one with python -m tse2.bin.pack or stage 10)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{meta_path}: format {meta.get('format')!r}; this tse2 reads format {FORMAT}")
        if selector not in SELECTORS:
            raise ValueError(f"unknown selector {selector!r}; choose one of {', '.join(SELECTORS)}")
        sep = meta["separator"]
        separator = Separator(root / sep["config"], root / sep["model"], device)
        if selector == "classifier":
            c = meta["classifier"]
            chooser = ClassifierSelector(root / c["config"], root / c["model"], device)
        else:
            from tse2.attributes.selector import AttributeSelector

            chooser = AttributeSelector()
        return cls(separator, chooser, meta["fs"])

    def __call__(self, wav: Union[np.ndarray, str, Path], prompt: Optional[str] = None, fs: Optional[int] = None,
                 enroll: Optional[np.ndarray] = None, name: str = "input") -> Extraction:
        """Extracts from ``wav`` (samples or (samples, channels) at ``fs``, default the model's rate,
        or a file path); ``enroll`` (at the same rate) for an enrollment classifier; ``name`` for messages."""
        if isinstance(wav, (str, Path)):
            name = str(wav)
            wav, fs = read_audio(str(wav), mono=False)
        rate = int(fs or self.fs)
        length = len(wav)
        x = to_model_input(wav, rate, self.fs, name)
        peak = float(np.max(np.abs(x)))
        if peak == 0.0:
            raise AudioError(f"{name}: is digital silence; there is nobody to extract")
        cands = self.separator(x)
        if enroll is not None:
            enroll = to_model_input(enroll, rate, self.fs, "enrollment")
        k, scores, details = self.selector(cands, self.fs, prompt=prompt, enroll=enroll)
        outs = [back_to_rate(c, self.fs, rate, length) for c in cands]
        return Extraction(target=outs[k], other=outs[1 - k], selected=k + 1, scores=scores, fs=rate, details=details)


# ------------------------------------------------------------------------------------- packing


def _versions() -> Dict[str, str]:
    from importlib import metadata

    import tse2

    out = {"tse2": tse2.__version__, "python": sys.version.split()[0]}
    for pkg in ("torch", "espnet", "transformers", "peft", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def pack(out_dir: Path, sep_config: Path, sep_model: Path, cls_config: Optional[Path], cls_model: Optional[Path],
         fs: int, sources: Optional[Dict] = None) -> Path:
    """Copies everything an extractor needs into ``out_dir`` (written next to it, then renamed)."""
    import yaml

    from tse2.models.encoders import resolve_model_dir

    out_dir = Path(out_dir)
    for f in (sep_config, sep_model) + ((cls_config, cls_model) if cls_config else ()):
        if not Path(f).is_file():
            raise FileNotFoundError(f"{f}: missing, cannot pack it")
    tmp = out_dir.parent / f".{out_dir.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "separator").mkdir(parents=True)
    shutil.copyfile(sep_config, tmp / "separator/config.yaml")
    shutil.copyfile(sep_model, tmp / "separator/model.pth")
    meta = {"format": FORMAT, "fs": int(fs), "versions": _versions(), "sources": sources or {},
            "separator": {"config": "separator/config.yaml", "model": "separator/model.pth"}}
    if cls_config:
        (tmp / "classifier").mkdir()
        with open(cls_config, encoding="utf-8") as f:
            conf = yaml.safe_load(f)
        for key, dirname in MODEL_DIR_KEYS:
            sub = conf.get(key) or {}
            if sub.get("model_dir"):
                src = resolve_model_dir(str(sub["model_dir"]))
                shutil.copytree(src, tmp / "classifier" / dirname, ignore=shutil.ignore_patterns("__pycache__"))
                sub["model_dir"] = dirname  # relative to classifier/
        with open(tmp / "classifier/config.yaml", "w", encoding="utf-8") as f:
            yaml.safe_dump(conf, f, allow_unicode=True, sort_keys=False)
        shutil.copyfile(cls_model, tmp / "classifier/model.pth")
        meta["classifier"] = {"config": "classifier/config.yaml", "model": "classifier/model.pth",
                              "cue": conf.get("cue", "text")}
    (tmp / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir


def describe(result: Extraction, selector_name: str) -> str:
    what = "similarity" if selector_name == "classifier" else "score"
    return "; ".join(f"output {k + 1}: {what} {s:+.4f}{' (selected)' if k + 1 == result.selected else ''}"
                     for k, s in enumerate(result.scores))


__all__: Sequence[str] = ("TextGuidedExtractor", "Extraction", "pack", "to_model_input")
