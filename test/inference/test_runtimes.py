"""The inference runtimes: each finds its config and checkpoint in one place (an experiment dir or a
pack), in the documented order, and says what is missing."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
import yaml

from conftest import ROOT
from tse2.inference import AttributeSelector, ClassifierSelector, Separator, SingleStageExtractor
from tse2.tasks.enh import Tse2EnhancementTask


@pytest.fixture
def sep_exp(tmp_path):
    exp = tmp_path / "exp/sep_x"
    config = ROOT / "egs/TEMPLATE/tse2/conf/tuning/sep_tflocoformer_tiny.yaml"
    args = Tse2EnhancementTask.get_parser().parse_args(["--config", str(config), "--output_dir", str(exp)])
    exp.mkdir(parents=True)
    (exp / "config.yaml").write_text(yaml.safe_dump({k: v for k, v in vars(args).items()
                                                     if isinstance(v, (str, int, float, bool, list, dict, type(None)))}))
    torch.manual_seed(0)
    torch.save(Tse2EnhancementTask.build_model(args).state_dict(), exp / "valid.si_snr_loss.best.pth")
    torch.manual_seed(1)
    torch.save(Tse2EnhancementTask.build_model(args).state_dict(), exp / "latest.pth")
    return exp


def test_separator_checkpoint_order_and_file_names(sep_exp):
    assert Separator.locate(sep_exp)[1].name == "valid.si_snr_loss.best.pth"  # ESPnet's best before latest
    assert Separator.locate(sep_exp, "latest.pth")[1] == sep_exp / "latest.pth"  # a file name in the dir
    assert Separator.locate(sep_exp, sep_exp / "latest.pth")[1] == sep_exp / "latest.pth"  # or a path
    shutil.copy(sep_exp / "latest.pth", sep_exp / "released.pth")  # a release installed by stage 5 wins
    sep = Separator.from_pretrained(sep_exp)
    assert sep.model_file.name == "released.pth"
    x = (0.1 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32)
    out = sep(x)
    assert out.shape == (2, 8000) and out.dtype == np.float32
    with pytest.raises(FileNotFoundError, match="nope.pth: checkpoint does not exist"):
        Separator.locate(sep_exp, "nope.pth")
    with pytest.raises(FileNotFoundError, match="holds no trained separator \\(run stage 5\\)"):
        Separator.from_pretrained(sep_exp.parent)


def test_every_runtime_names_its_stage(tmp_path):
    for runtime, stage in ((ClassifierSelector, 7), (SingleStageExtractor, 7), (Separator, 5)):
        with pytest.raises(FileNotFoundError, match=f"run stage {stage}"):
            runtime.from_pretrained(tmp_path)
    (tmp_path / "config.yaml").write_text("{}\n")
    with pytest.raises(FileNotFoundError, match="holds no checkpoint.*valid.acc.best.pth.*run stage 7"):
        ClassifierSelector.locate(tmp_path)
    assert isinstance(AttributeSelector.from_pretrained(tmp_path), AttributeSelector)  # training-free
