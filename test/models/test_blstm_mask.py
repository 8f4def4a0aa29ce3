"""The complex-mask BLSTM separator: shapes through ESPnet's STFT, bounded masks, padding that does
not leak into a shorter item, a short fit to one mixture, and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from espnet2.enh.decoder.stft_decoder import STFTDecoder
from espnet2.enh.encoder.stft_encoder import STFTEncoder

from tse2.models.blstm_mask import BLSTMMaskSeparator

STFT = dict(n_fft=128, hop_length=64)


def _model(**kw):
    return STFTEncoder(**STFT), BLSTMMaskSeparator(65, hidden=16, layers=2, **kw), STFTDecoder(**STFT)


def _run(enc, sep, dec, x, lengths):
    feats, flens = enc(x, lengths)
    masked, flens, others = sep(feats, flens)
    return [dec(m, lengths)[0] for m in masked], others


@pytest.mark.parametrize("mask", ["complex", "magnitude"])
def test_forward_backward_and_bounded_masks(mask):
    torch.manual_seed(0)
    enc, sep, dec = _model(mask=mask)
    x = torch.randn(3, 4001)
    outs, others = _run(enc, sep, dec, x, torch.full((3,), 4001))
    assert len(outs) == 2 and all(o.shape == (3, 4001) for o in outs)
    assert all(others[f"mask_spk{k}"].abs().max() <= 1.0 for k in (1, 2))
    sum(o.pow(2).mean() for o in outs).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in sep.parameters())


def test_padding_does_not_change_the_shorter_item():
    torch.manual_seed(0)
    enc, sep, dec = _model()
    sep.eval()
    short, long = torch.randn(1, 3000), torch.randn(1, 5000)
    batch = torch.cat([torch.nn.functional.pad(short, (0, 2000)), long])
    with torch.no_grad():
        alone, _ = _run(enc, sep, dec, short, torch.tensor([3000]))
        both, _ = _run(enc, sep, dec, batch, torch.tensor([3000, 5000]))
    # the level normalisation and the backward LSTM see only the valid frames of the short item
    # (its last STFT frame differs: zeros instead of the reflection padding, felt a little way back)
    assert torch.allclose(alone[0][0, :2500], both[0][0, :2500], atol=1e-3)


def test_a_few_dozen_steps_on_one_mixture_separate_it():
    torch.manual_seed(0)
    t = torch.arange(8000) / 8000
    s1 = 0.5 * torch.sin(2 * np.pi * 200 * t)
    s2 = 0.3 * torch.sign(torch.sin(2 * np.pi * 1300 * t + 1.0))
    mix = (s1 + s2)[None]
    enc, sep, dec = _model()
    opt = torch.optim.Adam(sep.parameters(), lr=1e-2)
    from espnet2.enh.loss.criterions.time_domain import SISNRLoss
    from espnet2.enh.loss.wrappers.pit_solver import PITSolver

    pit = PITSolver(criterion=SISNRLoss())
    lengths = torch.tensor([8000])
    for _ in range(60):
        outs, _ = _run(enc, sep, dec, mix, lengths)
        loss, _, _ = pit([s1[None], s2[None]], outs)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < -10  # better than 10 dB SI-SNR on both sources


def test_bad_inputs():
    with pytest.raises(ValueError, match="complex STFT"):
        BLSTMMaskSeparator(1)
    with pytest.raises(ValueError, match="mask"):
        BLSTMMaskSeparator(65, mask="ideal")
    sep = BLSTMMaskSeparator(65, hidden=8, layers=1)
    with pytest.raises(ValueError, match="encoder: stft"):
        sep(torch.randn(2, 100), torch.tensor([100, 100]))
    with pytest.raises(ValueError, match="65 bins"):
        sep(torch.randn(1, 10, 33, dtype=torch.complex64), torch.tensor([10]))
