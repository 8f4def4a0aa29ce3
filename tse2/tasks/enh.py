"""ESPnet enhancement task with tse2's separators registered.

ESPnet's ``EnhancementTask.build_model`` reads the module-level ``separator_choices``, so a class
added to a copy of the choices would parse from YAML but not build.  This task keeps its own
``separator_choices`` (ESPnet's separators plus ``tf_locoformer``), puts it in its own
``class_choices_list`` (which is what the argument parser reads) and builds models from it.

    separator: tf_locoformer
    separator_conf: {n_layers: 6, emb_dim: 128, ...}   # = TFLocoformerSeparator(**separator_conf)

Dynamic mixing (``dynamic_mixing: true``, ESPnet's flag, which in ESPnet alone only sums dry
sources through its preprocessor): the training iterator renders a fresh mixture for
every example with stage 3's code (:class:`tse2.simulation.dynamic.DynamicMixer`) from the
training mixture dir named by ``dynamic_mixing_conf.mix_dir`` (``tse2.sh`` passes
``data/<train_set>_mix``); validation stays on the fixed dev mixtures.

    dynamic_mixing: true
    dynamic_mixing_conf:
        chunk_length: 64000   # samples of each example: a window around the talkers' overlap (0: whole)
        epoch_size: 400       # examples an epoch when num_iters_per_epoch is not set (0: the fixed set's size)

Example ``i`` of epoch ``e`` on DDP rank ``r`` is seeded by (``--seed``, e, r, i), so the stream
is the same on a rerun and for any ``num_workers``, and disjoint across ranks; every rank draws
``batch_size / world_size`` examples a step, as ESPnet splits a batch across GPUs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Tuple

import numpy as np
import espnet2.tasks.enh as espnet_enh
from espnet2.enh.espnet_model import ESPnetEnhancementModel
from espnet2.enh.separator.abs_separator import AbsSeparator
from espnet2.torch_utils.initialize import initialize
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.train.class_choices import ClassChoices
from espnet2.train.distributed_utils import DistributedOption
from espnet2.utils.nested_dict_action import NestedDictAction

from tse2.models.blstm_mask import BLSTMMaskSeparator
from tse2.models.tf_locoformer import TFLocoformerSeparator
from tse2.simulation.dynamic import DynamicMixer

TSE2_SEPARATORS = {"tf_locoformer": TFLocoformerSeparator, "blstm_mask": BLSTMMaskSeparator}

separator_choices = ClassChoices(
    name="separator",
    classes={**espnet_enh.separator_choices.classes, **TSE2_SEPARATORS},
    type_check=AbsSeparator,
    default="tf_locoformer",
)


DYNAMIC_MIXING_KEYS = ("mix_dir", "chunk_length", "epoch_size")


class DynamicMixingDataset:
    """Map-style view of one epoch of a :class:`DynamicMixer` stream on one rank."""

    def __init__(self, mixer: DynamicMixer, epoch: int, size: int, rank: int,
                 preprocess: Optional[Callable] = None) -> None:
        self.mixer, self.epoch, self.size, self.rank, self.preprocess = mixer, epoch, size, rank, preprocess

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Tuple[str, Dict[str, np.ndarray]]:
        uid, data = self.mixer.example(self.epoch, index, self.rank)
        if self.preprocess is not None:
            data = self.preprocess(uid, data)
        return uid, data


class DynamicMixingIterFactory(AbsIterFactory):
    """ESPnet iterator factory whose epochs are freshly rendered mixtures (module doc)."""

    def __init__(self, mixer: DynamicMixer, batch_size: int, iters_per_epoch: int, rank: int, world_size: int,
                 num_workers: int, collate_fn: Callable, preprocess_fn: Optional[Callable] = None,
                 pin_memory: bool = False) -> None:
        if batch_size < world_size or batch_size % world_size:
            raise ValueError(f"dynamic mixing: batch_size {batch_size} must be a multiple of the {world_size} ranks")
        if iters_per_epoch < 1:
            raise ValueError(f"dynamic mixing: an epoch needs at least one batch, got {iters_per_epoch}")
        self.mixer, self.batch, self.iters = mixer, batch_size // world_size, iters_per_epoch
        self.rank, self.num_workers, self.collate_fn = rank, num_workers, collate_fn
        self.preprocess_fn, self.pin_memory = preprocess_fn, pin_memory

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None) -> Iterator:
        import torch

        dataset = DynamicMixingDataset(self.mixer, epoch, self.batch * self.iters, self.rank, self.preprocess_fn)
        return iter(torch.utils.data.DataLoader(dataset, batch_size=self.batch, shuffle=False,
                                                num_workers=self.num_workers, collate_fn=self.collate_fn,
                                                pin_memory=self.pin_memory, drop_last=True))


class Tse2EnhancementTask(espnet_enh.EnhancementTask):
    """EnhancementTask whose separator slot includes tse2's separators, with dynamic mixing."""

    class_choices_list = [
        separator_choices if c.name == "separator" else c for c in espnet_enh.EnhancementTask.class_choices_list
    ]

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_task_arguments(parser)
        # ESPnet's own --dynamic_mixing flag switches it on (module doc); tse2 adds its options
        group = parser.add_argument_group(description="tse2: dynamic mixing")
        group.add_argument("--dynamic_mixing_conf", action=NestedDictAction, default={},
                           help=f"dynamic mixing options: {', '.join(DYNAMIC_MIXING_KEYS)}")

    @classmethod
    def build_model_from_file(cls, config_file, model_file=None, device: str = "cpu"):
        """Builds the model of an ESPnet ``config.yaml`` and loads ``model_file`` safely and strictly.

        ESPnet's own loader unpickles the checkpoint (``weights_only=False``) and ignores missing
        or unexpected keys; here a checkpoint is tensors only, and one that does not fit the
        config (another model's, a truncated file) is an error naming the file."""
        import torch
        import yaml

        config_file = Path(config_file) if config_file is not None else Path(model_file).parent / "config.yaml"
        if not config_file.is_file():
            raise FileNotFoundError(f"{config_file}: the model's config is missing")
        with open(config_file, encoding="utf-8") as f:
            args = argparse.Namespace(**yaml.safe_load(f))
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
        conf = dict(args.dynamic_mixing_conf or {})
        unknown = sorted(set(conf) - set(DYNAMIC_MIXING_KEYS))
        if unknown:
            raise ValueError(f"dynamic_mixing_conf: unknown option(s) {', '.join(unknown)} "
                             f"(known: {', '.join(DYNAMIC_MIXING_KEYS)})")
        if not conf.get("mix_dir"):
            raise ValueError("dynamic_mixing: true needs dynamic_mixing_conf.mix_dir, the training mixture dir "
                             "(tse2.sh passes data/<train_set>_mix)")
        mixer = DynamicMixer(conf["mix_dir"], seed=args.seed, chunk_length=int(conf.get("chunk_length", 0)))
        world, rank = 1, 0
        if distributed_option.distributed:
            world, rank = distributed_option.dist_world_size or 1, distributed_option.dist_rank or 0
        iters = args.num_iters_per_epoch
        if iters is None:
            size = int(conf.get("epoch_size", 0)) or mixer.num_fixed
            iters = max(1, size // args.batch_size)
        return DynamicMixingIterFactory(mixer, args.batch_size, iters, rank, world, args.num_workers,
                                        cls.build_collate_fn(args, train=True), cls.build_preprocess_fn(args, train=True),
                                        pin_memory=args.ngpu > 0)

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
