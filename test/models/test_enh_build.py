"""The light enhancement-model builder: the classes it imports are the task's, and a model built
through it loads the checkpoint the task's builder made, with the same outputs."""

from __future__ import annotations

import argparse

import pytest
import torch
import yaml

from conftest import ROOT
from tse2.models.enh_build import LIGHT, light_class, load_model
from tse2.tasks import enh


@pytest.mark.parametrize("slot, name", [(s, n) for s, names in LIGHT.items() for n in names])
def test_every_light_class_is_the_tasks_own(slot, name):
    assert light_class(slot, name) is enh.choices(slot).get_class(name)


def test_a_name_outside_the_light_map_falls_back_to_the_task():
    assert light_class("separator", "tcn") is enh.choices("separator").get_class("tcn")


def test_the_released_separator_loads_the_same_both_ways():
    release = ROOT / "egs/mini_espeak/tse2/released/sep_blstm_256x3_dm"
    light, _ = load_model(release / "config.yaml", release / "model.pth")
    task, _ = enh.Tse2EnhancementTask.build_model_from_file(release / "config.yaml", release / "model.pth")
    x = torch.randn(1, 16000)
    with torch.no_grad():
        a = light.separator(*light.encoder(x, torch.tensor([16000])), {})[0][0]
        b = task.separator(*task.encoder(x, torch.tensor([16000])), {})[0][0]
    assert type(light) is type(task) and torch.allclose(abs(a), abs(b))
    args = argparse.Namespace(**yaml.safe_load((release / "config.yaml").read_text()))
    assert args.separator in LIGHT["separator"] and args.encoder in LIGHT["encoder"]
