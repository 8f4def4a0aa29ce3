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
from pathlib import Path
from typing import Optional

import espnet2.tasks.enh as espnet_enh
from espnet2.enh.espnet_model import ESPnetEnhancementModel
from espnet2.enh.separator.abs_separator import AbsSeparator
from espnet2.torch_utils.initialize import initialize
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.train.class_choices import ClassChoices
from espnet2.train.distributed_utils import DistributedOption

from tse2.models.blstm_mask import BLSTMMaskSeparator
from tse2.models.tf_locoformer import TFLocoformerSeparator
from tse2.tasks import dynamic_mixing

TSE2_SEPARATORS = {"tf_locoformer": TFLocoformerSeparator, "blstm_mask": BLSTMMaskSeparator}

separator_choices = ClassChoices(
    name="separator",
    classes={**espnet_enh.separator_choices.classes, **TSE2_SEPARATORS},
    type_check=AbsSeparator,
    default="tf_locoformer",
)


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

    @classmethod
    def build_model_from_file(cls, config_file, model_file=None, device: str = "cpu"):
        """Builds the model of an ESPnet ``config.yaml`` and loads ``model_file`` safely and strictly.

        ESPnet's own loader unpickles the checkpoint (``weights_only=False``) and ignores missing
        or unexpected keys; here a checkpoint is tensors only, and one that does not fit the
        config (another model's, a truncated file) is an error naming the file."""
        import torch

        from tse2.utils.fileio import read_yaml_config

        config_file = Path(config_file) if config_file is not None else Path(model_file).parent / "config.yaml"
        args = argparse.Namespace(**read_yaml_config(config_file))
        model = cls.build_model(args)
        if model_file is not None:
            try:
                state = torch.load(model_file, map_location=device, weights_only=True)
            except FileNotFoundError:
                raise FileNotFoundError(f"{model_file}: checkpoint does not exist") from None
            except Exception as exc:  # truncated, empty, not a checkpoint, or pickled code
                raise ValueError(f"{model_file}: not a loadable checkpoint of tensors ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
            if not isinstance(state, dict):
                raise ValueError(f"{model_file}: holds a {type(state).__name__}, not a state dict")
            missing, unexpected = model.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise ValueError(f"{model_file} does not fit {config_file}: missing keys {list(missing)[:3]}, "
                                 f"unexpected keys {list(unexpected)[:3]}")
        return model.to(device), args

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
        if getattr(args, "diffusion_model", None) is not None:
            raise ValueError("tse2's enhancement task builds separation models, not diffusion models")
        encoder = espnet_enh.encoder_choices.get_class(args.encoder)(**args.encoder_conf)
        separator = separator_choices.get_class(args.separator)(encoder.output_dim, **args.separator_conf)
        decoder = espnet_enh.decoder_choices.get_class(args.decoder)(**args.decoder_conf)
        mask_module = None
        if args.separator.endswith("nomask"):
            mask_module = espnet_enh.mask_module_choices.get_class(args.mask_module)(
                input_dim=encoder.output_dim, **args.mask_module_conf)
        loss_wrappers = []
        for ctr in getattr(args, "criterions", None) or []:
            criterion = espnet_enh.criterion_choices.get_class(ctr["name"])(**ctr.get("conf", {}))
            loss_wrappers.append(espnet_enh.loss_wrapper_choices.get_class(ctr["wrapper"])(
                criterion=criterion, **ctr.get("wrapper_conf", {})))
        model = ESPnetEnhancementModel(encoder=encoder, separator=separator, decoder=decoder,
                                       mask_module=mask_module, loss_wrappers=loss_wrappers, **args.model_conf)
        if args.init is not None:
            initialize(model, args.init)
        return model
