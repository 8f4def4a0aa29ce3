"""The ESPnet plugin: tf_locoformer builds through tse2's task; every shipped config builds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from conftest import ROOT
from tse2.models.blstm_mask import BLSTMMaskSeparator
from tse2.models.tf_locoformer import TFLocoformerSeparator
from tse2.tasks.dynamic_mixing import KEYS as DYNAMIC_MIXING_KEYS
from tse2.tasks.enh import Tse2EnhancementTask, separator_choices

CONFIGS = sorted(ROOT.glob("egs/TEMPLATE/tse2/conf/tuning/sep_*.yaml"))


def _args(config: Path, tmp_path: Path, **override):
    parser = Tse2EnhancementTask.get_parser()
    args = parser.parse_args(["--config", str(config), "--output_dir", str(tmp_path)])
    for k, v in override.items():
        setattr(args, k, v)
    return args


def test_configs_are_found():
    names = {c.name for c in CONFIGS}
    assert {f"sep_tflocoformer_{n}.yaml" for n in ("paper", "small", "tiny")} <= names
    assert {"sep_blstm_256x2_dm.yaml", "sep_tcn_dm.yaml", "sep_dprnn_dm.yaml"} <= names


def test_registry_holds_espnet_and_tse2_separators():
    assert separator_choices.get_class("tf_locoformer") is TFLocoformerSeparator
    assert separator_choices.get_class("blstm_mask") is BLSTMMaskSeparator
    assert separator_choices.get_class("tcn") is not None


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_builds(config, tmp_path):
    args = _args(config, tmp_path)
    model = Tse2EnhancementTask.build_model(args)
    conf = yaml.safe_load(config.read_text())
    assert isinstance(model.separator, separator_choices.get_class(conf["separator"]))
    if conf["separator"] == "tf_locoformer":
        assert model.separator.config["n_layers"] == conf["separator_conf"]["n_layers"]
    assert conf["optim"] == "adamw" and conf["grad_clip"] == 5.0 and conf["scheduler_conf"]["factor"] == 0.5
    if conf.get("dynamic_mixing"):  # the data location comes from tse2.sh, the rest from the config
        assert set(conf["dynamic_mixing_conf"]) <= set(DYNAMIC_MIXING_KEYS) - {"mix_dir"}
        assert conf["iterator_type"] == "sequence"  # validation on whole dev mixtures
    with torch.no_grad():  # a forward pass of the real model on a second of noise
        outs, _, _ = model.separator(*model.encoder(torch.randn(1, 16000) * 0.1, torch.tensor([16000])))
    assert len(outs) == 2


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


def _saved_tiny(tmp_path):
    config = ROOT / "egs/TEMPLATE/tse2/conf/tuning/sep_blstm_256x2_dm.yaml"
    args = _args(config, tmp_path)
    model = Tse2EnhancementTask.build_model(args)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({k: v for k, v in vars(args).items()
                                                          if isinstance(v, (str, int, float, bool, list, dict, type(None)))}))
    torch.save(model.state_dict(), tmp_path / "m.pth")
    return tmp_path / "config.yaml", tmp_path / "m.pth", model


def test_checkpoints_load_strictly_and_without_code(tmp_path):
    config, good, model = _saved_tiny(tmp_path)
    loaded, _ = Tse2EnhancementTask.build_model_from_file(config, good, "cpu")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    other = tmp_path / "other.pth"  # another model's weights: an error, not random output
    torch.save({"classifier.weight": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="does not fit.*missing keys"):
        Tse2EnhancementTask.build_model_from_file(config, other, "cpu")
    truncated = tmp_path / "cut.pth"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ValueError, match="cut.pth: not a loadable checkpoint"):
        Tse2EnhancementTask.build_model_from_file(config, truncated, "cpu")

    class Planted:  # a pickle that would run code when unpickled
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    planted = tmp_path / "planted.pth"
    torch.save(Planted(), planted)
    with pytest.raises(ValueError, match="planted.pth: not a loadable checkpoint"):
        Tse2EnhancementTask.build_model_from_file(config, planted, "cpu")
    assert not (tmp_path / "pwned").exists()
