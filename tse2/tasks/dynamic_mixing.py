"""Dynamic mixing as an ESPnet training iterator, shared by the separator and single-stage tasks.

``dynamic_mixing: true`` (ESPnet's enhancement flag; the single-stage task defines the same)
makes the training iterator render a fresh mixture for every example with stage 3's code
(:class:`tse2.simulation.dynamic.DynamicMixer`) from the training mixture dir named by
``dynamic_mixing_conf.mix_dir`` (``tse2.sh`` passes ``data/<train_set>_mix``); validation stays
on the fixed dev data.  A separator gets ``speech_mix, speech_ref1, speech_ref2``; a
text-conditioned extractor ``speech_mix, speech_ref1`` (the target) and a ``prompt``.

    dynamic_mixing: true
    dynamic_mixing_conf:
        chunk_length: 32000   # samples of each example: a window around the talkers' overlap (0: whole)
        epoch_size: 400       # examples an epoch when num_iters_per_epoch is not set (0: the fixed set's size)

Example ``i`` of epoch ``e`` on DDP rank ``r`` is seeded by (``--seed``, e, r, i), so the stream
is the same on a rerun and for any ``num_workers``, and disjoint across ranks; every rank draws
``batch_size / world_size`` examples a step, as ESPnet splits a batch across GPUs.  The task's
preprocessing (e.g. prompt tokenization) runs on each example as it does on read data.

Each rank prints the examples an epoch draws (``dynamic mixing: rank r of w, epoch e: ...``) to
stderr, which is the training log: a plain print, because ESPnet logs only rank 0's messages.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Dict, Iterator, Optional, Tuple

from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.train.distributed_utils import DistributedOption
from espnet2.utils.nested_dict_action import NestedDictAction

from tse2.simulation.dynamic import DynamicMixer

KEYS = ("mix_dir", "chunk_length", "epoch_size")


class DynamicMixingDataset:
    """Map-style view of one epoch of a :class:`DynamicMixer` stream on one rank."""

    def __init__(self, mixer: DynamicMixer, epoch: int, size: int, rank: int,
                 preprocess: Optional[Callable] = None, prompted: bool = False) -> None:
        self.mixer, self.epoch, self.size, self.rank = mixer, epoch, size, rank
        self.preprocess, self.prompted = preprocess, prompted

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Tuple[str, Dict]:
        make = self.mixer.prompted_example if self.prompted else self.mixer.example
        uid, data = make(self.epoch, index, self.rank)
        if self.preprocess is not None:
            data = self.preprocess(uid, data)
        return uid, data


class DynamicMixingIterFactory(AbsIterFactory):
    """ESPnet iterator factory whose epochs are freshly rendered mixtures (module doc)."""

    def __init__(self, mixer: DynamicMixer, batch_size: int, iters_per_epoch: int, rank: int, world_size: int,
                 num_workers: int, collate_fn: Callable, preprocess_fn: Optional[Callable] = None,
                 pin_memory: bool = False, prompted: bool = False) -> None:
        if batch_size < world_size or batch_size % world_size:
            raise ValueError(f"dynamic mixing: batch_size {batch_size} must be a multiple of the {world_size} ranks")
        if iters_per_epoch < 1:
            raise ValueError(f"dynamic mixing: an epoch needs at least one batch, got {iters_per_epoch}")
        self.mixer, self.batch, self.iters = mixer, batch_size // world_size, iters_per_epoch
        self.world_size = world_size
        self.rank, self.num_workers, self.collate_fn = rank, num_workers, collate_fn
        self.preprocess_fn, self.pin_memory, self.prompted = preprocess_fn, pin_memory, prompted

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None) -> Iterator:
        import torch

        dataset = DynamicMixingDataset(self.mixer, epoch, self.batch * self.iters, self.rank, self.preprocess_fn,
                                       self.prompted)
        n = len(dataset)
        print(f"dynamic mixing: rank {self.rank} of {self.world_size}, epoch {epoch}: {n} examples, "
              f"{self.batch} a step, seeds (seed, {epoch}, {self.rank}, 0..{n - 1})", file=sys.stderr, flush=True)
        return iter(torch.utils.data.DataLoader(dataset, batch_size=self.batch, shuffle=False,
                                                num_workers=self.num_workers, collate_fn=self.collate_fn,
                                                pin_memory=self.pin_memory, drop_last=True))


def add_arguments(group, flag: bool) -> None:
    """``--dynamic_mixing_conf`` (and ``--dynamic_mixing`` where ESPnet does not define it)."""
    if flag:
        from espnet2.utils.types import str2bool

        group.add_argument("--dynamic_mixing", type=str2bool, default=False,
                           help="render fresh training mixtures with stage 3's code (validation stays fixed)")
    group.add_argument("--dynamic_mixing_conf", action=NestedDictAction, default={},
                       help=f"dynamic mixing options: {', '.join(KEYS)}")


def build_iter_factory(task, args: argparse.Namespace, distributed_option: DistributedOption,
                       prompted: bool) -> DynamicMixingIterFactory:
    """The training iterator of ``task`` (its collate and preprocess functions) under dynamic mixing."""
    conf = dict(args.dynamic_mixing_conf or {})
    unknown = sorted(set(conf) - set(KEYS))
    if unknown:
        raise ValueError(f"dynamic_mixing_conf: unknown option(s) {', '.join(unknown)} (known: {', '.join(KEYS)})")
    if not conf.get("mix_dir"):
        raise ValueError("dynamic_mixing: true needs dynamic_mixing_conf.mix_dir, the training mixture dir "
                         "(tse2.sh passes data/<train_set>_mix)")
    mixer = DynamicMixer(conf["mix_dir"], seed=args.seed, chunk_length=int(conf.get("chunk_length", 0)))
    from tse2.utils.audio import check_rate, model_rate

    check_rate(mixer.cfg.fs, model_rate(args), f"dynamic mixing from {conf['mix_dir']}")
    world, rank = 1, 0
    if distributed_option.distributed:
        world, rank = distributed_option.dist_world_size or 1, distributed_option.dist_rank or 0
    iters = args.num_iters_per_epoch
    if iters is None:
        size = int(conf.get("epoch_size", 0)) or mixer.num_fixed
        iters = max(1, size // args.batch_size)
    return DynamicMixingIterFactory(mixer, args.batch_size, iters, rank, world, args.num_workers,
                                    task.build_collate_fn(args, train=True), task.build_preprocess_fn(args, train=True),
                                    pin_memory=args.ngpu > 0, prompted=prompted)
