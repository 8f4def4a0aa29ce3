"""Building (and loading) an ESPnet enhancement model from its config without ESPnet's task module.

``espnet2.tasks.enh`` imports every enhancement model and text front end ESPnet has: 11 s per
process here, paid by every ``extract`` and stage-6 job before it reads any audio.  A runtime needs
only the classes its config names.  :data:`LIGHT` maps the names tse2's configs use to their
modules, imported on demand; any other name falls back to the task's registries (the full import).
Training keeps using :class:`tse2.tasks.enh.Tse2EnhancementTask`, which builds through
:func:`build_model` with those registries, so both paths build the same model.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Callable, Optional

# slot -> name -> "module:Class": the classes tse2's configs use (test: they are the task's own)
LIGHT = {
    "encoder": {"stft": "espnet2.enh.encoder.stft_encoder:STFTEncoder",
                "conv": "espnet2.enh.encoder.conv_encoder:ConvEncoder",
                "same": "espnet2.enh.encoder.null_encoder:NullEncoder"},
    "decoder": {"stft": "espnet2.enh.decoder.stft_decoder:STFTDecoder",
                "conv": "espnet2.enh.decoder.conv_decoder:ConvDecoder",
                "same": "espnet2.enh.decoder.null_decoder:NullDecoder"},
    "separator": {"tf_locoformer": "tse2.models.tf_locoformer:TFLocoformerSeparator",
                  "blstm_mask": "tse2.models.blstm_mask:BLSTMMaskSeparator"},
    "mask_module": {"multi_mask": "espnet2.diar.layers.multi_mask:MultiMask"},
    "criterion": {"si_snr": "espnet2.enh.loss.criterions.time_domain:SISNRLoss"},
    "loss_wrapper": {"pit": "espnet2.enh.loss.wrappers.pit_solver:PITSolver",
                     "fixed_order": "espnet2.enh.loss.wrappers.fixed_order:FixedOrderSolver"},
}


def light_class(slot: str, name: str):
    """The class of ``name`` in ``slot``: from :data:`LIGHT`, else from the task's registries."""
    target = LIGHT.get(slot, {}).get(name)
    if target is not None:
        module, _, cls = target.partition(":")
        return getattr(importlib.import_module(module), cls)
    return espnet_choices(slot).get_class(name)


def espnet_choices(slot: str):
    """ESPnet's own registry of one slot of its enhancement task (tse2's separators are in :data:`LIGHT`)."""
    import espnet2.tasks.enh as espnet_enh

    return {"encoder": espnet_enh.encoder_choices, "separator": espnet_enh.separator_choices,
            "decoder": espnet_enh.decoder_choices, "mask_module": espnet_enh.mask_module_choices,
            "criterion": espnet_enh.criterion_choices, "loss_wrapper": espnet_enh.loss_wrapper_choices}[slot]


def build_model(args: argparse.Namespace, get_class: Callable[[str, str], type] = light_class):
    """The ESPnet enhancement model of a config (its parsed arguments), with ``get_class(slot, name)``
    resolving each named class."""
    from espnet2.enh.espnet_model import ESPnetEnhancementModel

    if getattr(args, "diffusion_model", None) is not None:
        raise ValueError("tse2's enhancement task builds separation models, not diffusion models")
    encoder = get_class("encoder", args.encoder)(**args.encoder_conf)
    separator = get_class("separator", args.separator)(encoder.output_dim, **args.separator_conf)
    decoder = get_class("decoder", args.decoder)(**args.decoder_conf)
    mask_module = None
    if args.separator.endswith("nomask"):
        mask_module = get_class("mask_module", args.mask_module)(input_dim=encoder.output_dim, **args.mask_module_conf)
    loss_wrappers = []
    for ctr in getattr(args, "criterions", None) or []:
        criterion = get_class("criterion", ctr["name"])(**ctr.get("conf", {}))
        loss_wrappers.append(get_class("loss_wrapper", ctr["wrapper"])(criterion=criterion, **ctr.get("wrapper_conf", {})))
    model = ESPnetEnhancementModel(encoder=encoder, separator=separator, decoder=decoder,
                                   mask_module=mask_module, loss_wrappers=loss_wrappers, **args.model_conf)
    if getattr(args, "init", None) is not None:
        from espnet2.torch_utils.initialize import initialize

        initialize(model, args.init)
    return model


def load_model(config_file: Optional[Path], model_file: Optional[Path] = None, device: str = "cpu",
               get_class: Callable[[str, str], type] = light_class):
    """Builds the model of an ESPnet ``config.yaml`` and loads ``model_file`` safely and strictly
    (:func:`tse2.models.checkpoint.load_state`)."""
    from tse2.models.checkpoint import build_named, load_state
    from tse2.utils.fileio import read_yaml_config

    config_file = Path(config_file) if config_file is not None else Path(model_file).parent / "config.yaml"
    args = argparse.Namespace(**read_yaml_config(config_file))
    model = build_named(lambda a: build_model(a, get_class), args, config_file, "separator")
    if model_file is not None:
        load_state(model, model_file, config_file, device)
    return model.to(device), args
