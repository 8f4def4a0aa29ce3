"""TF-Locoformer: shapes, gradients, PIT, a short overfit, bad arguments (save/load: test_enh_task)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tse2.models.tf_locoformer import ConvSwiGLU, RMSGroupNorm, TFLocoformerSeparator

TINY = dict(n_layers=1, emb_dim=16, n_heads=2, ffn_hidden_dim=32, num_groups=2, n_fft=128, hop_length=64)


@pytest.mark.parametrize("length", [4001, 8000, 8191])
def test_forward_backward_odd_lengths_and_batch(length):
    torch.manual_seed(0)
    model = TFLocoformerSeparator(**TINY)
    x = torch.randn(3, length)
    outs, ilens, _ = model(x, torch.full((3,), length))
    assert len(outs) == 2 and all(o.shape == (3, length) for o in outs)
    sum(o.pow(2).mean() for o in outs).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_building_blocks():
    norm = RMSGroupNorm(8, 2)
    y = norm(torch.randn(5, 7, 8) * 10)
    assert torch.allclose(y.view(5, 7, 2, 4).pow(2).mean(-1), torch.ones(5, 7, 2), atol=1e-3)
    for kernel, shift in ((4, 1), (4, 2), (3, 3)):
        ffn = ConvSwiGLU(8, 16, kernel, shift)
        assert ffn(torch.randn(2, 11, 8)).shape == (2, 11, 8)


def _si_sdr(est, ref):
    ref = ref - ref.mean(-1, keepdim=True)
    est = est - est.mean(-1, keepdim=True)
    proj = (est * ref).sum(-1, keepdim=True) / ref.pow(2).sum(-1, keepdim=True) * ref
    return 10 * torch.log10(proj.pow(2).sum(-1) / (est - proj).pow(2).sum(-1))


def test_pit_picks_the_swapped_permutation():
    from espnet2.enh.loss.criterions.time_domain import SISNRLoss
    from espnet2.enh.loss.wrappers.pit_solver import PITSolver

    t = torch.arange(8000) / 8000
    ref1, ref2 = torch.sin(2 * np.pi * 220 * t)[None], torch.sign(torch.sin(2 * np.pi * 3 * t))[None] * 0.3
    solver = PITSolver(criterion=SISNRLoss())
    loss_swapped, _, others = solver([ref1, ref2], [ref2, ref1])
    loss_same, _, _ = solver([ref1, ref2], [ref1, ref2])
    assert torch.allclose(loss_swapped, loss_same) and loss_same < -50  # perfect either way
    assert others["perm"][0].tolist() == [1, 0]


def test_a_few_dozen_steps_on_one_mixture_raise_its_si_sdr():
    torch.manual_seed(0)
    t = torch.arange(8000) / 8000
    s1 = 0.5 * torch.sin(2 * np.pi * 200 * t) * (t < 0.6)
    s2 = 0.3 * torch.sin(2 * np.pi * 520 * t + 1.0) * (t > 0.3)
    mix = (s1 + s2)[None]
    model = TFLocoformerSeparator(**TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)

    def score():
        est = model.separate(mix)[0]
        return torch.maximum(_si_sdr(est[0], s1) + _si_sdr(est[1], s2), _si_sdr(est[1], s1) + _si_sdr(est[0], s2)) / 2

    before = score().item()
    for _ in range(40):
        opt.zero_grad()
        (-score()).backward()
        opt.step()
    after = score().item()
    assert after > before + 5.0, (before, after)


@pytest.mark.parametrize("kwargs,message", [
    (dict(emb_dim=18, n_heads=4), "not divisible by n_heads"),
    (dict(emb_dim=16, num_groups=3), "not divisible by num_groups"),
    (dict(conv1d_kernel=2, conv1d_shift=3), "conv1d_shift <= conv1d_kernel"),
    (dict(hop_length=512, n_fft=256), "hop_length <= n_fft"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TFLocoformerSeparator(**{**TINY, **kwargs})


def test_espnet_interface_refuses_spectra():
    model = TFLocoformerSeparator(**TINY)
    with pytest.raises(ValueError, match="encoder: same"):
        model(torch.randn(1, 10, 65, dtype=torch.complex64), torch.tensor([10]))
