"""ESPnet enhancement task with tse2's separators registered.

ESPnet's ``EnhancementTask.build_model`` reads the module-level ``separator_choices``, so a class
added to a copy of the choices would parse from YAML but not build.  This task keeps its own
``separator_choices`` (ESPnet's separators plus ``tf_locoformer``), puts it in its own
``class_choices_list`` (which is what the argument parser reads) and builds models from it.

    separator: tf_locoformer
    separator_conf: {n_layers: 6, emb_dim: 128, ...}   # = TFLocoformerSeparator(**separator_conf)
"""

from __future__ import annotations

import argparse

import espnet2.tasks.enh as espnet_enh
from espnet2.enh.espnet_model import ESPnetEnhancementModel
from espnet2.enh.separator.abs_separator import AbsSeparator
from espnet2.torch_utils.initialize import initialize
from espnet2.train.class_choices import ClassChoices

from tse2.models.tf_locoformer import TFLocoformerSeparator

TSE2_SEPARATORS = {"tf_locoformer": TFLocoformerSeparator}

separator_choices = ClassChoices(
    name="separator",
    classes={**espnet_enh.separator_choices.classes, **TSE2_SEPARATORS},
    type_check=AbsSeparator,
    default="tf_locoformer",
)


class Tse2EnhancementTask(espnet_enh.EnhancementTask):
    """EnhancementTask whose separator slot includes ``tf_locoformer`` and really builds it."""

    class_choices_list = [
        separator_choices if c.name == "separator" else c for c in espnet_enh.EnhancementTask.class_choices_list
    ]

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
