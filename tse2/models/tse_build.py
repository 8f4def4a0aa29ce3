"""Building the single-stage extractor (paper IV-C baselines) and its prompt preprocessing from a
config without ESPnet's task modules.

``tse2.tasks.tse`` imports ESPnet's ``AbsTask`` (its trainer, collate functions, preprocessors and
their text front ends: ~10 s of every stage-8 ``tse_inference`` job here, a third of it typeguard
instrumenting ESPnet's classes).  The runtime needs only the model and the prompt preprocessing, so
they live here, as :mod:`tse2.models.cls_build` does for the classifier; the task registers the same
classes and builds through :func:`build_tse`, so training and inference build the same model.
"""

from __future__ import annotations

import argparse
from typing import Dict, Optional

from tse2.models.cls_build import TEXT_ENCODERS, ClassifierPreprocess, _choice, build_text_encoder
from tse2.models.dpt import DPTExtractor
from tse2.models.encoders import load_tokenizer
from tse2.models.tf_locoformer import TFLocoformerSeparator
from tse2.models.tse import TextConditionedTSE, pad_prompt

EXTRACTORS = {"tf_locoformer": TFLocoformerSeparator, "dpt": DPTExtractor}
__all__ = ["EXTRACTORS", "TEXT_ENCODERS", "PromptPreprocess", "build_prompt_preprocess", "build_tse", "one_output_conf"]


def one_output_conf(kind: str, conf: Optional[Dict], cond_dim: int, what: str) -> Dict:
    """A backbone's options for a model with one output conditioned by a prompt: TF-Locoformer gets
    ``num_spk: 1`` (any other count is an error naming ``what``), every backbone ``cond_dim``."""
    conf = dict(conf or {})
    if kind == "tf_locoformer":
        conf.setdefault("num_spk", 1)
        if conf["num_spk"] != 1:
            raise ValueError(f"{what} has one output: num_spk must be 1, got {conf['num_spk']}")
    conf["cond_dim"] = cond_dim
    return conf


def build_tse(args: argparse.Namespace) -> TextConditionedTSE:
    """The :class:`TextConditionedTSE` of a single-stage config (its parsed arguments)."""
    text = build_text_encoder(args)
    econf = one_output_conf(args.extractor, args.extractor_conf, args.cond_dim, "the single-stage extractor")
    return TextConditionedTSE(_choice(EXTRACTORS, "extractor", args.extractor)(**econf), text)


class PromptPreprocess(ClassifierPreprocess):
    """Tokenizes the prompt and right-pads it with -1 to ``max_prompt_tokens``.

    ESPnet's chunk iterator stacks the (uncut) prompts of chunks from different utterances, so every
    prompt must have the same length; the model recovers each prompt's length from the -1 padding.
    """

    def __call__(self, uid: str, data: Dict) -> Dict:
        data = super().__call__(uid, data)
        if "prompt" in data:
            data["prompt"] = pad_prompt(data["prompt"], self.max_prompt_tokens)
        return data


def build_prompt_preprocess(args: argparse.Namespace, train: bool) -> PromptPreprocess:
    return PromptPreprocess(load_tokenizer(args.text_encoder_conf["model_dir"]), getattr(args, "max_prompt_tokens", 128),
                            train, seed=getattr(args, "seed", 0))
