"""Building the classifier and its preprocessing from a config without ESPnet's task modules.

``tse2.tasks.cls`` imports ESPnet's ``AbsTask`` (its trainer, collate functions, preprocessors and
their text front ends: about 9 s per process here).  The classifier runtime needs only the model
and the example preprocessing, so they live here; the task registers the same classes in its
``ClassChoices`` and builds through :func:`build_classifier`, so training and inference build the
same model.
"""

from __future__ import annotations

import argparse
from typing import Dict, Optional

import numpy as np

from tse2.models.classifier import TargetClassifier
from tse2.models.encoders import SpeechEncoder, TextEncoder, load_tokenizer
from tse2.models.pretrained import (ComboFrameEncoder, CrepeFrameEncoder, DVectorFrameEncoder, ResemblyzerFrameEncoder,
                                   WhisperFrameEncoder)

SPEECH_ENCODERS = {"hf": SpeechEncoder, "whisper": WhisperFrameEncoder, "crepe": CrepeFrameEncoder,
                   "resemblyzer": ResemblyzerFrameEncoder, "dvector": DVectorFrameEncoder, "combo": ComboFrameEncoder}
TEXT_ENCODERS = {"hf_lora": TextEncoder}


def _choice(registry: Dict[str, type], slot: str, name: str) -> type:
    if name not in registry:
        raise ValueError(f"{slot}: unknown {name!r}; choose one of {', '.join(sorted(registry))}")
    return registry[name]


def build_text_encoder(args: argparse.Namespace, out_dim: Optional[int] = None) -> TextEncoder:
    """The prompt encoder of ``text_encoder`` with ``text_encoder_conf``, projected to ``out_dim``
    (default: ``cond_dim``, the prompt-conditioned models' FiLM input); every model that reads
    prompts builds it here: classifier, retrieval, single-stage, remix."""
    conf = dict(getattr(args, "text_encoder_conf", None) or {})
    if "model_dir" not in conf:
        raise ValueError("text_encoder_conf.model_dir is required (a local Hugging Face model directory)")
    return _choice(TEXT_ENCODERS, "text_encoder", args.text_encoder)(
        out_dim=args.cond_dim if out_dim is None else out_dim, **conf)


def build_classifier(args: argparse.Namespace) -> TargetClassifier:
    """The :class:`TargetClassifier` of a stage-7 config (its parsed arguments)."""
    cue = getattr(args, "cue", "text")
    speech = _choice(SPEECH_ENCODERS, "speech_encoder", args.speech_encoder)(**args.speech_encoder_conf)
    text = None
    if cue == "text":
        if not getattr(args, "text_encoder", None):
            raise ValueError("--cue text needs a text encoder (text_encoder: hf_lora)")
        text = build_text_encoder(args, speech.output_size)
    return TargetClassifier(speech, text, cue=cue, **(getattr(args, "model_conf", None) or {}))


def build_preprocess(args: argparse.Namespace, train: bool) -> "ClassifierPreprocess":
    tokenizer = None
    if getattr(args, "cue", "text") == "text" and getattr(args, "text_encoder", None):
        tokenizer = load_tokenizer(args.text_encoder_conf["model_dir"])
    return ClassifierPreprocess(tokenizer, getattr(args, "max_prompt_tokens", 128), train,
                                seed=getattr(args, "seed", 0), random_crop=getattr(args, "enroll_random_crop", True))


class ClassifierPreprocess:
    """Tokenizes prompts and crops or zero-pads the enrollment utterance to the candidates' length.

    Training crops the enrollment at a random place (unless ``random_crop`` is off: a frozen,
    cached speech encoder then sees each enrollment once), evaluation at its start.
    """

    def __init__(self, tokenizer=None, max_prompt_tokens: int = 128, train: bool = True,
                 seed: int = 0, random_crop: bool = True) -> None:
        self.tokenizer, self.max_prompt_tokens = tokenizer, max_prompt_tokens
        self.train = train and random_crop
        self.rng = np.random.default_rng(seed)

    def __call__(self, uid: str, data: Dict) -> Dict:
        data = dict(data)
        if "prompt" in data:
            if self.tokenizer is None:
                raise ValueError(f"example {uid}: a prompt was given but the model has no text encoder")
            text = data["prompt"]
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"example {uid}: empty prompt")
            ids = self.tokenizer(text, truncation=True, max_length=self.max_prompt_tokens)["input_ids"]
            data["prompt"] = np.asarray(ids, dtype=np.int64)
        if "enroll" in data and "cand1" in data:
            enroll, n = data["enroll"], len(data["cand1"])
            if enroll.ndim != 1:
                raise ValueError(f"example {uid}: the enrollment audio must be mono")
            if len(enroll) > n:
                start = int(self.rng.integers(0, len(enroll) - n + 1)) if self.train else 0
                enroll = enroll[start:start + n]
            elif len(enroll) < n:
                enroll = np.pad(enroll, (0, n - len(enroll)))
            data["enroll"] = enroll.astype(np.float32)
        if "label" in data:
            label = np.asarray(data["label"]).reshape(-1)
            if label.size != 1 or label[0] not in (0, 1):
                raise ValueError(f"example {uid}: label must be 0 or 1, got {data['label']!r}")
            data["label"] = label.astype(np.int64)
        return data
