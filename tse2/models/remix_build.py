"""Building the remixer (Listen, Chat, and Remix) and the cascade's separator, with their
preprocessing, from a config without ESPnet's task modules.

``tse2.tasks.remix`` imports ESPnet's ``AbsTask`` (~10 s of every ``tse2-remix`` start and every
stage-4 inference job here); the runtimes (:mod:`tse2.inference.remix`) need only the models and
the preprocessing, so they live here, as :mod:`tse2.models.cls_build` does for the classifier.
The tasks register the same classes and build through these functions, so training and inference
build the same models.
"""

from __future__ import annotations

import argparse
import json
from typing import Dict, Optional

import numpy as np

from tse2.models.cls_build import TEXT_ENCODERS, _choice, build_text_encoder
from tse2.models.dpt import DPTExtractor
from tse2.models.encoders import load_tokenizer
from tse2.models.remix import BLSTMRemixer, CascadeModel, PITSeparator, SoundRemixerModel
from tse2.models.tf_locoformer import TFLocoformerSeparator
from tse2.models.tse import pad_prompt
from tse2.models.tse_build import one_output_conf
from tse2.utils.audio import DEFAULT_FS, model_rate

REMIXERS = {"blstm": BLSTMRemixer, "tf_locoformer": TFLocoformerSeparator, "dpt": DPTExtractor}
__all__ = ["REMIXERS", "TEXT_ENCODERS", "RemixPreprocess", "build_remixer", "build_cascade", "build_remix_preprocess",
           "build_cascade_preprocess"]


def build_remixer(args: argparse.Namespace) -> SoundRemixerModel:
    """The :class:`SoundRemixerModel` of a remix config (its parsed arguments)."""
    text = build_text_encoder(args)
    rconf = one_output_conf(args.remixer, getattr(args, "remixer_conf", None), args.cond_dim, "the remixer")
    return SoundRemixerModel(_choice(REMIXERS, "remixer", args.remixer)(**rconf), text,
                             loss=getattr(args, "loss_type", "snr"),
                             presence_weight=getattr(args, "presence_weight", 1.0))


def build_cascade(args: argparse.Namespace) -> CascadeModel:
    """The ideal cascade's separator (``separator_conf``: :class:`PITSeparator`'s keys)."""
    return CascadeModel(PITSeparator(**dict(getattr(args, "separator_conf", None) or {})))


def build_remix_preprocess(args: argparse.Namespace, train: bool) -> "RemixPreprocess":
    tokenizer = load_tokenizer(args.text_encoder_conf["model_dir"])
    return RemixPreprocess(tokenizer, getattr(args, "max_prompt_tokens", 128), train, getattr(args, "seed", 0),
                           getattr(args, "speech_dir", None), getattr(args, "sound_dir", None),
                           model_rate(args), getattr(args, "speech_styles", None),
                           absent_prob=getattr(args, "absent_prob", 0.0) if train else 0.0,
                           prompt_variety=getattr(args, "prompt_variety", 0.0) if train else 0.0)


def build_cascade_preprocess(args: argparse.Namespace, train: bool) -> "RemixPreprocess":
    return RemixPreprocess(None, 0, train, getattr(args, "seed", 0), getattr(args, "speech_dir", None),
                           getattr(args, "sound_dir", None), model_rate(args),
                           getattr(args, "speech_styles", None), sources=True)


class RemixPreprocess:
    """Tokenizes the prompt (right-padded with -1 to ``max_prompt_tokens``, as batches stack them);
    in training with a ``recipe`` slot, first draws and renders a fresh mixture and instruction."""

    def __init__(self, tokenizer, max_prompt_tokens: int = 128, train: bool = True, seed: int = 0,
                 speech_dir: Optional[str] = None, sound_dir: Optional[str] = None, fs: int = DEFAULT_FS,
                 styles: Optional[str] = None, sources: bool = False, absent_prob: float = 0.0,
                 prompt_variety: float = 0.0) -> None:
        self.tokenizer, self.max_prompt_tokens, self.train = tokenizer, max_prompt_tokens, train
        self.sources = sources  # the cascade's separator: the sources as speech_ref1..N, no prompt
        self.rng = np.random.default_rng(seed)
        self.fs, self.speech_dir, self.sound_dir = fs, speech_dir, sound_dir
        self.styles = styles.replace(",", " ").split() if styles else None
        if not 0.0 <= absent_prob < 1.0:
            raise ValueError(f"absent_prob must be in [0, 1), got {absent_prob}")
        self.absent_prob = absent_prob
        if not 0.0 <= prompt_variety <= 1.0:
            raise ValueError(f"prompt_variety must be in [0, 1], got {prompt_variety}")
        self.prompt_variety = prompt_variety
        self._pool = self._cache = None

    def _draw(self, uid: str, slot: str) -> Dict[str, np.ndarray]:
        from tse2.simulation.remix_tasks import remix_target, sample_instruction
        from tse2.simulation.remix import AudioCache, draw_recipe, load_pool, render

        if self._pool is None:
            if not (self.speech_dir or self.sound_dir):
                raise ValueError("dynamic remix training needs --speech_dir and --sound_dir")
            self._pool = load_pool(self.speech_dir, self.sound_dir, self.styles)
            self._cache = AudioCache(self.fs)
        try:
            comp = json.loads(slot)
        except json.JSONDecodeError:
            raise ValueError(f"example {uid}: its recipe is not JSON: {slot[:80]!r}") from None
        recipe = draw_recipe(uid, self._pool, self._cache, self.rng, int(comp.get("n_speech", 2)),
                             int(comp.get("n_audio", 2)), int(comp.get("length", 4 * self.fs)))
        src = render(recipe, self._cache)
        if self.sources:
            return dict(speech_mix=src.sum(0), **{f"speech_ref{k + 1}": x for k, x in enumerate(src)})
        ins = None
        if self.absent_prob and self.rng.random() < self.absent_prob:
            from tse2.simulation.remix_tasks import absent_instruction, absent_source

            kind = "speech" if self.rng.random() < 0.25 else "audio"
            absent = absent_source(recipe.described(), self.rng, self._pool.categories(), kind)
            if absent is not None:
                ins = absent_instruction(recipe.described(), absent, self.rng)
        if ins is None:
            ins = sample_instruction(recipe.described(), self.rng, variety=self.prompt_variety)
        return dict(speech_mix=src.sum(0), speech_ref1=remix_target(src, ins.gains).astype(np.float32),
                    prompt=ins.prompt)

    def __call__(self, uid: str, data: Dict) -> Dict:
        data = dict(data)
        if "recipe" in data:
            data.update(self._draw(uid, data.pop("recipe")))
        text = data.get("prompt")
        if text is not None and self.tokenizer is not None:
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"example {uid}: empty prompt")
            ids = self.tokenizer(text, truncation=True, max_length=self.max_prompt_tokens)["input_ids"]
            data["prompt"] = pad_prompt(ids, self.max_prompt_tokens)
        for k in [n for n in data if n.startswith("speech_")]:
            if not k.endswith("_lengths"):
                data[k] = np.asarray(data[k], dtype=np.float32)
        return data


