"""ESPnet enhancement task with tse2's separators registered.

ESPnet's ``EnhancementTask.build_model`` reads the module-level ``separator_choices``, so a class
added to a copy of the choices would parse from YAML but not build.  This task keeps its own
``separator_choices`` (ESPnet's separators plus ``tf_locoformer`` and ``blstm_mask``), puts it in its own
``class_choices_list`` (which is what the argument parser reads) and builds models from it.

    separator: tf_locoformer
    separator_conf: {n_layers: 6, emb_dim: 128, ...}   # = TFLocoformerSeparator(**separator_conf)

Dynamic mixing (``dynamic_mixing: true``, ESPnet's flag, which in ESPnet alone only sums dry
sources through its preprocessor): the training iterator renders reverberant mixtures with stage
3's code; see :mod:`tse2.tasks.dynamic_mixing`.
"""

from __future__ import annotations

import argparse
from typing import Optional

import espnet2.tasks.enh as espnet_enh
from espnet2.enh.espnet_model import ESPnetEnhancementModel
from espnet2.enh.separator.abs_separator import AbsSeparator
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.train.class_choices import ClassChoices
from espnet2.train.distributed_utils import DistributedOption

from tse2.tasks import add_fs_argument
from tse2.models.blstm_mask import BLSTMMaskSeparator
from tse2.models.enh_build import build_model, espnet_choices, load_model
from tse2.models.tf_locoformer import TFLocoformerSeparator
from tse2.tasks import dynamic_mixing

TSE2_SEPARATORS = {"tf_locoformer": TFLocoformerSeparator, "blstm_mask": BLSTMMaskSeparator}

separator_choices = ClassChoices(
    name="separator",
    classes={**espnet_enh.separator_choices.classes, **TSE2_SEPARATORS},
    type_check=AbsSeparator,
    default="tf_locoformer",
)


def choices(slot: str) -> ClassChoices:
    """The registry of one slot: tse2's separators, ESPnet's others."""
    return separator_choices if slot == "separator" else espnet_choices(slot)


def task_class(slot: str, name: str):
    return choices(slot).get_class(name)


class Tse2EnhancementTask(espnet_enh.EnhancementTask):
    """EnhancementTask whose separator slot includes tse2's separators, with dynamic mixing."""

    class_choices_list = [
        separator_choices if c.name == "separator" else c for c in espnet_enh.EnhancementTask.class_choices_list
    ]

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_task_arguments(parser)
        # ESPnet's own --dynamic_mixing flag switches it on (module doc); tse2 adds its options
        dynamic_mixing.add_arguments(parser.add_argument_group(description="tse2: dynamic mixing"), flag=False)
        add_fs_argument(parser.add_argument_group(description="tse2"))

    @classmethod
    def build_model_from_file(cls, config_file, model_file=None, device: str = "cpu"):
        """:func:`tse2.models.enh_build.load_model` with this task's registries: safe, strict."""
        return load_model(config_file, model_file, device, get_class=task_class)

    @classmethod
    def build_iter_factory(cls, args: argparse.Namespace, distributed_option: DistributedOption, mode: str,
                           kwargs: Optional[dict] = None) -> AbsIterFactory:
        if mode != "train" or not getattr(args, "dynamic_mixing", False):
            return super().build_iter_factory(args, distributed_option, mode, kwargs)
        if getattr(args, "preprocessor", None) == "dynamic_mixing":
            raise ValueError("dynamic_mixing: true renders reverberant mixtures itself; drop ESPnet's "
                             "`preprocessor: dynamic_mixing` (it would mix the mixtures again)")
        return dynamic_mixing.build_iter_factory(cls, args, distributed_option, prompted=False)

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> ESPnetEnhancementModel:
        return build_model(args, get_class=task_class)
