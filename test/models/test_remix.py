"""The LCR model: the BLSTM SoundRemixer (FiLM identity start, init from the released separator,
the mask bound), the SNR loss, the model and task build from the shipped config."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
import yaml

from conftest import ROOT
from tse2.models.blstm_mask import BLSTMMaskSeparator
from tse2.models.film import FiLM
from tse2.models.remix import BLSTMRemixer, SoundRemixerModel, snr

RELEASED = ROOT / "egs/mini_espeak/tse2/released/sep_blstm_256x3_dm"
CONFIG = ROOT / "egs/mini_espeak/remix/conf/remix.yaml"


class _Text(torch.nn.Module):
    """A toy PromptReader: mean of token embeddings."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(10, 6)

    def forward(self, ids, lengths):
        return self.emb(ids).mean(1)


def _tiny(**kw) -> BLSTMRemixer:
    torch.manual_seed(0)
    return BLSTMRemixer(cond_dim=6, n_fft=64, hop_length=32, hidden=8, layers=2, **kw)


def test_film_starts_as_the_identity_so_an_untrained_remixer_ignores_the_prompt():
    m = _tiny().eval()
    x = torch.randn(2, 1600)
    a = m.extract(x, torch.randn(2, 6))
    b = m.extract(x, torch.randn(2, 6) * 10)
    torch.testing.assert_close(a, b)
    for f in m.film:
        assert isinstance(f, FiLM)
        c = f.gamma[-1].out_features
        torch.testing.assert_close(f(torch.ones(2, 3, c), torch.randn(2, 6), channel_dim=-1), torch.ones(2, 3, c))
    for f in m.film:  # once trained, the prompt changes the output
        torch.nn.init.normal_(f.gamma[-1].weight)
    assert not torch.allclose(m.extract(x, torch.randn(2, 6)), m.extract(x, torch.randn(2, 6)))


def test_the_mask_may_double_a_source_but_no_more():
    m = _tiny(mask_max=2.0)
    with torch.no_grad():
        m.out.bias.fill_(50.0)  # a huge raw mask
    spec = torch.randn(1, 10, 33, dtype=torch.complex64)
    with torch.no_grad():
        mask = m.mask(spec, torch.zeros(1, 6))
    assert float(mask.abs().max()) <= 2.0 + 1e-5 and float(mask.abs().min()) > 1.9


@pytest.mark.skipif(not (RELEASED / "model.pth").is_file(), reason="the released separator is not in this checkout")
def test_the_initialisation_from_the_released_separator_loads_and_gives_its_first_mask():
    remixer = BLSTMRemixer(cond_dim=4, mask_max=1.0, init_from=str(RELEASED)).eval()
    assert {p.dtype for p in remixer.parameters()} == {torch.float32}  # the release stores float16
    state = {k: v.float() for k, v in torch.load(RELEASED / "model.pth", map_location="cpu", weights_only=True).items()}
    torch.testing.assert_close(remixer.rnns[2].weight_hh_l0, state["separator.rnns.2.weight_hh_l0"])
    torch.testing.assert_close(remixer.out.weight, state["separator.out.weight"][: 2 * 257])
    sep = BLSTMMaskSeparator(input_dim=257, num_spk=2, hidden=256, layers=3).eval()
    sep.load_state_dict({k[len("separator."):]: v for k, v in state.items()})
    spec = torch.randn(1, 20, 257, dtype=torch.complex64)
    with torch.no_grad():
        _, _, masks = sep(spec, torch.tensor([20]))
        ours = remixer.mask(spec, torch.zeros(1, 4))
    torch.testing.assert_close(ours, masks["mask_spk1"], atol=1e-5, rtol=1e-4)


def test_a_checkpoint_that_is_not_a_separator_of_this_size_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no separator checkpoint"):
        _tiny(init_from=str(tmp_path / "nothing"))
    torch.save({"separator.proj.0.weight": torch.zeros(3, 3)}, tmp_path / "model.pth")
    with pytest.raises(ValueError, match="not a blstm_mask separator"):
        _tiny(init_from=str(tmp_path))


def test_snr_is_scale_dependent_and_the_loss_falls_on_a_toy_batch():
    ref = torch.randn(2, 800)
    assert float(snr(ref, ref).min()) > 60
    assert abs(float(snr(2 * ref, ref).mean())) < 1e-3  # twice the target: 0 dB, not the SI-SNR's infinity

    model = SoundRemixerModel(_tiny(), _Text())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    mix = torch.randn(2, 1600)
    target = 0.5 * mix  # "turn everything down"
    prompt = torch.tensor([[1, 2, -1], [3, 4, 5]])
    losses = []
    for _ in range(30):
        loss, stats, _ = model(mix, target, prompt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 3 and "snri" in stats


def test_the_shipped_config_builds_the_model_and_every_key_is_used():
    from tse2.tasks.remix import Tse2RemixTask

    conf = yaml.safe_load(CONFIG.read_text())
    parser = Tse2RemixTask.get_parser()
    known = {a.dest for a in parser._actions}
    assert set(conf) <= known, set(conf) - known
    conf["remixer_conf"] = dict(conf["remixer_conf"], init_from="")
    args = argparse.Namespace(**{**vars(parser.parse_args([])), **conf})
    model = Tse2RemixTask.build_model(args)
    pre = Tse2RemixTask.build_preprocess_fn(args, False)
    ids = torch.as_tensor(pre("m", {"prompt": "Remove the birds."})["prompt"])[None]
    with torch.no_grad():
        y = model.remix(torch.randn(1, 16000), ids)
    assert y.shape == (1, 16000) and np.isfinite(y.numpy()).all()


def test_pit_finds_the_permutation_and_the_cascade_separator_starts_from_the_released_one():
    from tse2.models.remix import CascadeModel, PITSeparator, pit_snr

    refs = torch.randn(2, 4, 400)
    order = torch.tensor([[2, 0, 3, 1], [1, 2, 3, 0]])
    est = torch.stack([refs[b, order[b]] for b in range(2)]) + 0.01 * torch.randn(2, 4, 400)
    score, perm = pit_snr(est, refs)
    for b in range(2):
        assert torch.equal(order[b][perm[b]], torch.arange(4))
    assert float(score.min()) > 30
    tiny = PITSeparator(num_src=3, n_fft=64, hop_length=32, hidden=8, layers=1)
    mix = torch.randn(2, 1600)
    assert tiny.separate(mix).shape == (2, 3, 1600)
    loss, stats, weight = CascadeModel(tiny)(mix, speech_ref1=mix / 3, speech_ref2=mix / 3, speech_ref3=mix / 3)
    assert torch.isfinite(loss) and "snr" in stats and weight.shape == (1,)  # 1-dim, for ESPnet's DDP averaging
    with pytest.raises(ValueError, match="missing"):
        CascadeModel(tiny)(mix, speech_ref1=mix)
    if (RELEASED / "model.pth").is_file():
        sep = PITSeparator(num_src=4, init_from=str(RELEASED))
        state = torch.load(RELEASED / "model.pth", map_location="cpu", weights_only=True)
        assert {p.dtype for p in sep.parameters()} == {torch.float32}
        torch.testing.assert_close(sep.sep.out.weight[:1028], state["separator.out.weight"].float())


def test_a_missing_source_is_learnt_as_silence_and_its_removal_as_the_mixture_unchanged():
    from tse2.models.remix import capped_snr, silence_level

    mix = torch.randn(3, 1600)
    assert float(silence_level(torch.zeros_like(mix), mix).max()) == pytest.approx(-30.0, abs=1e-3)
    assert float(silence_level(0.1 * mix, mix).mean()) == pytest.approx(-19.59, abs=0.05)
    assert float(capped_snr(mix, mix).min()) == pytest.approx(30.0, abs=1e-3)  # not the eps's 100+ dB

    model = SoundRemixerModel(_tiny(), _Text())
    target = torch.stack([torch.zeros(1600), mix[1], 0.5 * mix[2]])  # extract the missing; remove it; a real task
    prompt = torch.tensor([[1, 2, -1], [3, 4, 5], [6, 7, -1]])
    loss, stats, _ = model(mix, target, prompt)
    assert set(stats) >= {"absent_level", "absent_kept_snr", "snr", "snri"}
    assert float(stats["absent_kept_snr"]) <= 30.0 and float(stats["snri"]) > -50  # the real row alone
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = float(stats["absent_level"])
    for _ in range(40):
        loss, stats, _ = model(mix, target, prompt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(stats["absent_level"]) < first - 6  # the "extract the missing" output is going quiet


def test_the_paper_config_builds_lcr_t_with_a_llama_prompt_reader(tmp_path):
    """conf/remix.yaml of the paper-corpora recipe: every key is the task's, and it builds the
    dual-path transformer remixer with a (here: 2-layer) Llama PromptReader, LoRA on q/v, pooled
    at the last token."""
    from conftest import save_tiny_llama
    from tse2.tasks.remix import Tse2RemixTask

    conf = yaml.safe_load((ROOT / "egs/textrolspeech_vggsound/remix/conf/remix.yaml").read_text())
    parser = Tse2RemixTask.get_parser()
    assert set(conf) <= {a.dest for a in parser._actions}, set(conf) - {a.dest for a in parser._actions}
    conf["text_encoder_conf"] = dict(conf["text_encoder_conf"], model_dir=str(save_tiny_llama(tmp_path / "llama")))
    conf["remixer_conf"] = dict(conf["remixer_conf"], n_blocks=1, enc_dim=32, feat_dim=32, ffn_dim=64, n_heads=4)
    args = argparse.Namespace(**{**vars(parser.parse_args([])), **conf})
    model = Tse2RemixTask.build_model(args)
    assert type(model.remixer).__name__ == "DPTExtractor" and model.text_encoder.pooling == "last"
    pre = Tse2RemixTask.build_preprocess_fn(args, False)
    ids = torch.as_tensor(pre("m", {"prompt": "Turn down the dog barking."})["prompt"])[None]
    with torch.no_grad():
        y = model.remix(torch.randn(1, 8000), ids)
    assert y.shape == (1, 8000) and np.isfinite(y.numpy()).all()


def test_the_presence_head_never_moves_the_remix_and_learns_what_is_there():
    """A head on detached features: the remix is the backbone's, bit for bit; its own loss reaches
    only the head; and on a toy task (is the tone the prompt names in the mixture?) it learns."""
    plain, headed = _tiny(), _tiny(presence_hidden=16)
    headed.load_state_dict({**headed.state_dict(), **plain.state_dict()})
    mix, cond = torch.randn(2, 1600), torch.randn(2, 6)
    est, logit = headed.extract_with_presence(mix, cond)
    assert torch.equal(est, plain.extract(mix, cond)) and logit.shape == (2,)
    assert plain.extract_with_presence(mix, cond)[1] is None

    model = SoundRemixerModel(headed, _Text())
    t = torch.arange(1600) / 1600.0
    tone = torch.sin(2 * torch.pi * 200 * t)
    rng = torch.Generator().manual_seed(0)
    noise = 0.3 * torch.randn(8, 1600, generator=rng)
    there = torch.tensor([1, 0, 1, 0, 1, 0, 1, 0], dtype=torch.bool)
    mix = noise + there[:, None] * tone
    # "keep only the tone": the tone when it is there, silence when it is not (the absent examples)
    target = torch.where(there[:, None], tone.expand(8, -1), torch.zeros(8, 1600))
    prompt = torch.tensor([[1, 2, -1]] * 8)
    loss, stats, _ = model(mix, target, prompt)
    assert {"presence_loss", "presence_acc"} <= set(stats)
    loss_bce = stats["presence_loss"]
    model.zero_grad()
    torch.nn.functional.binary_cross_entropy_with_logits(
        headed.extract_with_presence(mix, model.text_encoder(prompt.clamp_min(0), None))[1], there.float()).backward()
    assert all(p.grad is None for n, p in headed.named_parameters() if not n.startswith("presence."))
    assert all(p.grad is not None for n, p in headed.named_parameters() if n.startswith("presence."))

    for n, p in model.named_parameters():  # train the head alone, as the recipe does (--freeze_param)
        p.requires_grad_(n.startswith("remixer.presence."))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(60):
        loss, stats, _ = model(mix, target, prompt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(stats["presence_loss"]) < 0.5 * float(loss_bce) and float(stats["presence_acc"]) == 1.0
    _, prob = model.remix_and_presence(mix, prompt)
    assert bool(((prob > 0.5) == there).all())
