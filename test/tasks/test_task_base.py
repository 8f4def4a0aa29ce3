"""What the tse2 tasks share (tse2/tasks/base.py): one option group, the prompt options, padded
prompts that survive a batch, one rule for the one-output backbones."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from tse2.models.tse import PROMPT_PAD, pad_prompt, unpad_prompt
from tse2.models.tse_build import one_output_conf
from tse2.tasks.base import Tse2Task
from tse2.tasks.cls import Tse2ClassifierTask
from tse2.tasks.remix import Tse2RemixCascadeTask, Tse2RemixTask
from tse2.tasks.retrieval import Tse2RetrievalTask
from tse2.tasks.tse import Tse2TSETask

TASKS = [Tse2ClassifierTask, Tse2TSETask, Tse2RemixTask, Tse2RemixCascadeTask, Tse2RetrievalTask]


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.__name__)
def test_every_task_has_one_task_group_with_fs_and_one_optimizer(task):
    assert issubclass(task, Tse2Task) and task.num_optimizers == 1
    parser = task.get_parser()
    groups = [g for g in parser._action_groups if g.description == "Task related"]
    assert len(groups) == 1
    flags = {o for a in groups[0]._group_actions for o in a.option_strings}
    assert "--fs" in flags and "--init" in flags
    collate = task.build_collate_fn(argparse.Namespace(), train=True)
    batch = collate([("a", {"x": np.ones(3, dtype=np.float32)}), ("b", {"x": np.ones(5, dtype=np.float32)})])
    assert batch[1]["x"].shape == (2, 5) and batch[1]["x"][0, 3:].abs().sum() == 0


def test_retrieval_keeps_its_shorter_prompts():
    assert Tse2RetrievalTask.get_parser().get_default("max_prompt_tokens") == 64
    assert Tse2RemixTask.get_parser().get_default("max_prompt_tokens") == 128


def test_padded_prompts_give_back_their_lengths():
    ids = [[101, 7, 8, 102], [101, 9, 102]]
    batch = torch.from_numpy(np.stack([pad_prompt(i, 6) for i in ids]))
    assert batch.dtype == torch.int64 and (batch[:, -1] == PROMPT_PAD).all()
    cut, lengths = unpad_prompt(batch)
    assert lengths.tolist() == [4, 3] and cut.shape == (2, 4) and int(cut.min()) >= 0
    with pytest.raises(ValueError):
        pad_prompt(list(range(7)), 6)  # longer than the width: never silently cut here


def test_one_output_backbones():
    assert one_output_conf("tf_locoformer", None, 64, "x") == {"num_spk": 1, "cond_dim": 64}
    assert one_output_conf("dpt", {"enc_dim": 8}, 32, "x") == {"enc_dim": 8, "cond_dim": 32}
    with pytest.raises(ValueError, match="the remixer has one output: num_spk must be 1, got 2"):
        one_output_conf("tf_locoformer", {"num_spk": 2}, 64, "the remixer")
