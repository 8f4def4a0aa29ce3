"""The ESPnet plugin: tf_locoformer builds through tse2's task; every shipped config builds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from conftest import ROOT
from tse2.models.tf_locoformer import TFLocoformerSeparator
from tse2.tasks.enh import Tse2EnhancementTask, separator_choices

CONFIGS = sorted(ROOT.glob("egs/TEMPLATE/tse2/conf/tuning/sep_*.yaml"))


def _args(config: Path, tmp_path: Path, **override):
    parser = Tse2EnhancementTask.get_parser()
    args = parser.parse_args(["--config", str(config), "--output_dir", str(tmp_path)])
    for k, v in override.items():
        setattr(args, k, v)
    return args


def test_configs_are_found():
    assert [c.name for c in CONFIGS] == [f"sep_tflocoformer_{n}.yaml" for n in ("paper", "small", "tiny")]


def test_registry_holds_espnet_and_tse2_separators():
    assert separator_choices.get_class("tf_locoformer") is TFLocoformerSeparator
    assert separator_choices.get_class("tcn") is not None


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_builds(config, tmp_path):
    args = _args(config, tmp_path)
    model = Tse2EnhancementTask.build_model(args)
    assert isinstance(model.separator, TFLocoformerSeparator)
    conf = yaml.safe_load(config.read_text())
    assert model.separator.config["n_layers"] == conf["separator_conf"]["n_layers"]
    assert conf["optim"] == "adamw" and conf["grad_clip"] == 5.0 and conf["scheduler_conf"]["factor"] == 0.5


def test_paper_config_matches_the_paper(tmp_path):
    conf = yaml.safe_load((ROOT / "egs/TEMPLATE/tse2/conf/tuning/sep_tflocoformer_paper.yaml").read_text())
    sc = conf["separator_conf"]
    assert (sc["n_layers"], sc["emb_dim"], sc["n_heads"], sc["ffn_hidden_dim"], sc["conv1d_kernel"]) == (6, 128, 4, 384, 4)
    assert (sc["n_fft"], sc["hop_length"]) == (256, 128)
    assert conf["optim_conf"]["lr"] == 1e-3 and conf["max_epoch"] == 100 and conf["batch_size"] == 24


def test_model_file_round_trip_through_the_task(tmp_path):
    config = ROOT / "egs/TEMPLATE/tse2/conf/tuning/sep_tflocoformer_tiny.yaml"
    args = _args(config, tmp_path)
    model = Tse2EnhancementTask.build_model(args).eval()
    conf = dict(vars(args))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({k: v for k, v in conf.items()
                                                           if isinstance(v, (str, int, float, bool, list, dict, type(None)))}))
    torch.save(model.state_dict(), tmp_path / "m.pth")
    loaded, _ = Tse2EnhancementTask.build_model_from_file(tmp_path / "config.yaml", tmp_path / "m.pth", "cpu")
    x = torch.randn(1, 6000)
    with torch.no_grad():
        a = model.separator(x, torch.tensor([6000]))[0]
        b = loaded.eval().separator(x, torch.tensor([6000]))[0]
    assert all(torch.equal(p, q) for p, q in zip(a, b))
