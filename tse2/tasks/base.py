"""What the tse2 ESPnet tasks share (the classifier, the single-stage TSE baselines, remix and its
cascade, retrieval):

- :class:`Tse2Task`: one optimizer, ESPnet's trainer, zero-padded batches, and the task's own
  options in one "Task related" group (a task writes ``add_options(group)``);
- :func:`add_prompt_and_choice_arguments`: the options of every task that reads prompts;
- the prompt-conditioned models (remix, single-stage TSE) are built without ESPnet, by
  :mod:`tse2.models.tse_build` and :mod:`tse2.models.remix_build`, which the runtimes use too.
"""

from __future__ import annotations

import argparse
from abc import abstractmethod
from typing import Callable

from espnet2.tasks.abs_task import AbsTask
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.trainer import Trainer

from tse2.tasks import add_fs_argument


class Tse2Task(AbsTask):
    """An ESPnet task of tse2: subclasses give ``add_options`` and the data and model builders."""

    num_optimizers: int = 1
    trainer = Trainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        cls.add_options(parser.add_argument_group(description="Task related"))

    @classmethod
    @abstractmethod
    def add_options(cls, group) -> None:
        """The task's own options, added to its "Task related" argument group."""

    @classmethod
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable:
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=0)


def add_prompt_and_choice_arguments(group, class_choices_list, max_prompt_tokens: int = 128) -> None:
    """Options shared by the tasks that read prompts: truncation, ``--fs``, ``--init`` (ignored:
    pretrained encoders keep their weights; ESPnet's CLI expects it) and one option pair per class
    choice."""
    group.add_argument("--max_prompt_tokens", type=int, default=max_prompt_tokens,
                       help="prompts are truncated to this")
    add_fs_argument(group)
    group.add_argument("--init", type=lambda x: None if x in ("none", "None") else x, default=None,
                       help="unused: pretrained encoders keep their weights (kept for ESPnet's CLI)")
    for class_choices in class_choices_list:
        class_choices.add_arguments(group)
