"""ESPnet task of the single-stage text-conditioned TSE baselines (stage 7 trains, stage 8 runs them).

One example = the mixture, the reference target and a prompt.  Data names, as given to
``--train_data_path_and_name_and_type``:

    speech_mix   sound   the mixture
    speech_ref1  sound   the reference target (the reverberant target speaker)
    prompt       text    the prompt; tokenized here by the text encoder's own tokenizer

One ``ClassChoices`` per slot, read by this task's own ``build_model``:

    extractor: tf_locoformer   extractor_conf: {num_spk: 1, n_layers: 6, ...}   (cond_dim is set here)
    extractor: dpt             extractor_conf: {enc_dim: 64, n_blocks: 4, ...}
    text_encoder: hf_lora      text_encoder_conf: {model_dir: ..., lora_r: 16, ...}
    cond_dim: 128              the prompt embedding size (text projection = FiLM input)

Training on random chunks (``iterator_type: chunk``) needs ``chunk_excluded_key_prefixes:
[prompt]`` so that only the waveforms are cut; prompts are padded to ``max_prompt_tokens`` with -1
(:class:`PromptPreprocess`) because that iterator stacks them.  ``--init`` is ignored: the text encoder is pretrained.

``dynamic_mixing: true`` trains on fresh mixtures, each with the target and one of its training
prompts drawn by stage 4's rules (:mod:`tse2.tasks.dynamic_mixing`); validation stays fixed.
"""

from __future__ import annotations

import argparse
from typing import Callable, Optional, Tuple

import torch

from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.train.class_choices import ClassChoices
from espnet2.train.distributed_utils import DistributedOption

from tse2.models.tse import TextConditionedTSE
from tse2.models.tse_build import EXTRACTORS, TEXT_ENCODERS, PromptPreprocess, build_prompt_preprocess, build_tse
from tse2.tasks import dynamic_mixing
from tse2.tasks.base import Tse2Task, add_prompt_and_choice_arguments

# the same classes build_tse builds from (tse2.models.tse_build, which the runtime uses)
extractor_choices = ClassChoices(name="extractor", classes=dict(EXTRACTORS), type_check=torch.nn.Module,
                                 default="tf_locoformer")
tse_text_encoder_choices = ClassChoices(name="text_encoder", classes=dict(TEXT_ENCODERS), type_check=torch.nn.Module,
                                        default="hf_lora")
__all__ = ["Tse2TSETask", "PromptPreprocess", "extractor_choices", "tse_text_encoder_choices"]


class Tse2TSETask(Tse2Task):
    class_choices_list = [extractor_choices, tse_text_encoder_choices]

    @classmethod
    def add_options(cls, group) -> None:
        group.add_argument("--cond_dim", type=int, default=128, help="prompt embedding size (FiLM input)")
        add_prompt_and_choice_arguments(group, cls.class_choices_list)
        dynamic_mixing.add_arguments(group, flag=True)

    @classmethod
    def build_iter_factory(cls, args: argparse.Namespace, distributed_option: DistributedOption, mode: str,
                           kwargs: Optional[dict] = None) -> AbsIterFactory:
        if mode == "train" and getattr(args, "dynamic_mixing", False):
            return dynamic_mixing.build_iter_factory(cls, args, distributed_option, prompted=True)
        return super().build_iter_factory(args, distributed_option, mode, kwargs)

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        return build_prompt_preprocess(args, train)

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech_mix", "prompt") if inference else ("speech_mix", "speech_ref1", "prompt")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech_ref1",) if inference else ()

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> TextConditionedTSE:
        return build_tse(args)
