"""ESPnet task of expressive speech retrieval (``retrieval.sh`` stage 3 trains it).

One example = one utterance and its style. Data names, as given to
``--train_data_path_and_name_and_type``:

    speech  sound     the utterance (mono, any length)
    style   text_int  its style's index in ``--style_list``

The prompt is not data: the preprocessing writes one from the style vocabulary
(``tse2.cues.styles``) for every example, a new template x phrase draw each time in training
(the paper's prompt augmentation), a draw seeded by the utterance id in validation, and the one
fixed prompt per style with ``--prompt_augmentation false``.

Slots (``ClassChoices``), read by :func:`build_retriever`:

    speech_encoder: whisper | hf | crepe | resemblyzer | dvector | combo   (tse2.models.cls_build)
    text_encoder:   hf_lora   text_encoder_conf: {model_dir: pkg://..., lora_r: 0}
    model_conf:     StyleRetriever's keywords (embed_dim, temperature, aux_weight, disc_weight,
                    cls_only_epochs, adversarial_from_epoch, label_aware,
                    text_aux_weight)
"""

from __future__ import annotations

import argparse
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from espnet2.tasks.abs_task import optim_classes
from espnet2.train.class_choices import ClassChoices
from espnet2.train.trainer import Trainer
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str2bool

from tse2.tasks.base import Tse2Task, add_prompt_and_choice_arguments
from tse2.cues.styles import StyleVocab
from tse2.models.cls_build import SPEECH_ENCODERS, TEXT_ENCODERS
from tse2.models.encoders import load_tokenizer
from tse2.models.retrieval import StyleRetriever, build_retriever, read_style_list

speech_encoder_choices = ClassChoices(
    name="speech_encoder", classes=dict(SPEECH_ENCODERS), type_check=torch.nn.Module, default="whisper")
text_encoder_choices = ClassChoices(
    name="text_encoder", classes=dict(TEXT_ENCODERS), type_check=torch.nn.Module, default="hf_lora")


class ScheduledTrainer(Trainer):
    """ESPnet's trainer, telling the model its epoch first (the paper's loss schedule)."""

    @classmethod
    def train_one_epoch(cls, model, iterator, optimizers, schedulers, scaler, reporter, summary_writer, options,
                        distributed_option) -> bool:
        target = getattr(model, "module", model)
        if hasattr(target, "set_epoch"):
            target.set_epoch(reporter.get_epoch())
        return super().train_one_epoch(model, iterator, optimizers, schedulers, scaler, reporter, summary_writer,
                                       options, distributed_option)


class StylePromptPreprocess:
    """Writes each example's prompt (token ids) from its style and checks the audio."""

    def __init__(self, styles: List[str], vocab: StyleVocab, tokenizer, train: bool, augment: bool = True,
                 seed: int = 0, max_prompt_tokens: int = 128, variety: float = 0.0) -> None:
        self.styles, self.vocab, self.tokenizer = styles, vocab, tokenizer
        self.train, self.augment, self.max_prompt_tokens = train, augment, max_prompt_tokens
        self.variety = variety
        self.rng = np.random.default_rng(seed)

    def prompt(self, uid: str, style: str) -> str:
        if not self.augment:
            return self.vocab.fixed(style)
        rng = self.rng if self.train else np.random.default_rng(list(uid.encode()))
        return self.vocab.sample(style, rng, self.variety if self.train else 0.0)

    def __call__(self, uid: str, data: Dict) -> Dict:
        data = dict(data)
        label = np.asarray(data["style"]).reshape(-1)
        if label.size != 1 or not 0 <= int(label[0]) < len(self.styles):
            raise ValueError(f"example {uid}: style must be one index in 0..{len(self.styles) - 1}, "
                             f"got {data['style']!r}")
        speech = np.asarray(data["speech"])
        if speech.ndim != 1:
            raise ValueError(f"example {uid}: the speech must be mono (prepare the data with retrieval_data)")
        if not np.all(np.isfinite(speech)):
            raise ValueError(f"example {uid}: the speech holds NaN or Inf")
        data["speech"] = speech.astype(np.float32)
        text = self.prompt(uid, self.styles[int(label[0])])
        ids = self.tokenizer(text, truncation=True, max_length=self.max_prompt_tokens)["input_ids"]
        data["prompt"] = np.asarray(ids, dtype=np.int64)
        data["style"] = label.astype(np.int64)
        return data


class Tse2RetrievalTask(Tse2Task):
    class_choices_list = [speech_encoder_choices, text_encoder_choices]
    trainer = ScheduledTrainer

    @classmethod
    def add_options(cls, group) -> None:
        group.add_argument("--style_list", type=str, required=True, help="style names, one per line (index order)")
        group.add_argument("--style_vocab", type=str, default=None,
                           help="JSON of prompt templates and phrases (default: tse2.cues.styles)")
        group.add_argument("--prompt_augmentation", type=str2bool, default=True,
                           help="a new template x phrase per example (false: one fixed prompt per style)")
        group.add_argument("--prompt_variety", type=float, default=0.0,
                           help="share of training prompts drawn from the variety engine's training grammar "
                                "(tse2.cues.variety: requests, questions, adjectives) instead of template x phrase")
        group.add_argument("--disc_lr", type=float, default=2e-5, help="learning rate of the discriminator")
        group.add_argument("--model_conf", action=NestedDictAction, default=dict(),
                           help="keyword arguments of StyleRetriever")
        add_prompt_and_choice_arguments(group, cls.class_choices_list, max_prompt_tokens=64)

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        styles = read_style_list(args.style_list)
        return StylePromptPreprocess(styles, StyleVocab.load(styles, args.style_vocab),
                                     load_tokenizer(args.text_encoder_conf["model_dir"]), train,
                                     augment=args.prompt_augmentation, seed=args.seed,
                                     max_prompt_tokens=args.max_prompt_tokens,
                                     variety=getattr(args, "prompt_variety", 0.0))

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech",) if inference else ("speech", "style")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ()

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> StyleRetriever:
        return build_retriever(args)

    @classmethod
    def build_optimizers(cls, args: argparse.Namespace, model: torch.nn.Module) -> List[torch.optim.Optimizer]:
        """One optimizer; the discriminator is its own parameter group at ``--disc_lr``."""
        optim_class = optim_classes.get(args.optim)
        if optim_class is None:
            raise ValueError(f"must be one of {list(optim_classes)}: {args.optim}")
        disc = [p for n, p in model.named_parameters() if n.startswith("discriminator.") and p.requires_grad]
        rest = [p for n, p in model.named_parameters() if not n.startswith("discriminator.") and p.requires_grad]
        groups = [{"params": rest}]
        if disc:
            groups.append({"params": disc, "lr": args.disc_lr})
        return [optim_class(groups, **args.optim_conf)]
