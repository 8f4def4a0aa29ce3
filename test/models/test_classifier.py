"""The classifier's scoring rule, enrollment path, and candidate de-duplication."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import TINY_W2V
from tse2.models.classifier import TargetClassifier, pair_logit, pair_loss
from tse2.models.encoders import SpeechEncoder


def test_logit_temperature_and_bce_against_a_hand_computation():
    z_cue = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z1 = torch.tensor([[1.0, 1.0], [1.0, 0.0]])   # cos 1/sqrt(2), 0
    z2 = torch.tensor([[0.0, 1.0], [0.0, 2.0]])   # cos 0, 1
    sim1, sim2, logit = pair_logit(z_cue, z1, z2)
    assert torch.allclose(sim1, torch.tensor([1 / math.sqrt(2), 0.0]))
    assert torch.allclose(sim2, torch.tensor([0.0, 1.0]))
    label = torch.tensor([1, 0])
    t = 0.2
    by_hand = []
    for l, y in zip(logit.tolist(), label.tolist()):
        p = 1 / (1 + math.exp(-l / t))
        by_hand.append(-(y * math.log(p) + (1 - y) * math.log(1 - p)))
    assert pair_loss(logit, label, t).item() == pytest.approx(sum(by_hand) / 2, rel=1e-5)


def speech_encoder():
    torch.manual_seed(0)
    return SpeechEncoder(config=dict(TINY_W2V), num_layers=2, finetune="all")


def test_enrollment_path_uses_the_speech_encoder():
    model = TargetClassifier(speech_encoder(), None, cue="enroll")
    wav = torch.randn(2, 8000)
    batch = dict(cand1=wav, cand1_lengths=torch.tensor([8000, 8000]), cand2=torch.randn(2, 8000),
                 cand2_lengths=torch.tensor([8000, 8000]), enroll=wav.clone(), enroll_lengths=torch.tensor([8000, 8000]))
    model.eval()
    with torch.no_grad():
        sim1, sim2 = model.similarities(**batch)
    assert torch.allclose(sim1, torch.ones(2), atol=1e-5)  # the enrollment equals candidate 1
    assert (sim2 < sim1).all()
    model.train()
    loss, stats, weight = model(label=torch.tensor([[1], [1]]), **batch)
    loss.backward()
    assert int(weight) == 2 and set(stats) == {"loss", "acc"}
    # 1-dim outputs, as ESPnet's trainer averages them across DDP ranks (recursive_average)
    assert weight.shape == (1,) and loss.shape == (1,) and all(v.dim() == 1 for v in stats.values())
    with pytest.raises(ValueError, match="needs `enroll`"):
        model.similarities(**{k: v for k, v in batch.items() if not k.startswith("enroll")})


def test_text_classifier_needs_a_text_encoder():
    with pytest.raises(ValueError, match="needs a text encoder"):
        TargetClassifier(speech_encoder(), None, cue="text")


def test_each_distinct_candidate_is_encoded_once():
    model = TargetClassifier(speech_encoder(), None, cue="enroll").eval()
    calls = []
    model.speech_encoder.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    a, b = torch.randn(8000), torch.randn(8000)
    wavs = torch.stack([a, b, a, a, b])
    lengths = torch.tensor([8000, 8000, 8000, 8000, 8000])
    with torch.no_grad():
        deduped = model.encode_unique(wavs, lengths)
        direct = model.speech_encoder(wavs, lengths)
    assert calls == [2, 5]
    assert torch.allclose(deduped, direct, atol=1e-5)


def enroll_batch(n=8000):
    torch.manual_seed(1)
    wav1, wav2 = torch.randn(2, n), torch.randn(2, n)
    lens = torch.tensor([n, n])
    return dict(cand1=wav1, cand1_lengths=lens, cand2=wav2, cand2_lengths=lens, enroll=wav1.clone(),
                enroll_lengths=lens)


def test_relative_scoring_compares_the_cue_with_the_candidates_difference():
    model = TargetClassifier(speech_encoder(), None, cue="enroll", relative=True).eval()
    batch = enroll_batch()
    with torch.no_grad():
        sim1, sim2 = model.similarities(**batch)
        z_cue, z1, z2 = model.embed_raw(**batch)
        swapped = dict(batch, cand1=batch["cand2"], cand2=batch["cand1"])
        s1_swapped, _ = model.similarities(**swapped)
    # float32: the two sides go through different roundings; alone they differ by 5e-7, and in a
    # full suite run (other thread and BLAS state) by more than 1e-6, so 1e-5 (values are ~0.05)
    assert torch.allclose(sim1, -sim2, atol=1e-5)
    assert torch.allclose(sim1, torch.nn.functional.cosine_similarity(z_cue, z1 - z2, dim=-1), atol=1e-5)
    assert torch.allclose(s1_swapped, sim2, atol=1e-5)  # the order of the candidates does not matter


def test_auxiliary_loss_adds_to_the_pair_loss_and_skips_unknown_attributes():
    from tse2.models.aux import SIZE, attribute_vector

    side = {"gender": "m", "lang": "de", "emotion": "sad", "f0_mean": 150.0, "f0_span": 100.0, "rms_db": -25.0,
            "distance": 2.0, "age": None, "onset": 1.5, "speaking_rate": 500.0, "speaking_duration": 3.5}
    vec = attribute_vector(side)
    assert len(vec) == SIZE and vec[:3] == [1.0, 2.0, 2.0]
    assert vec[3:6] == [0.0, 1.0, 0.0] and vec[6] == pytest.approx(0.5) and math.isnan(vec[7])
    assert vec[8:] == [0.5, 1.0, 0.0]
    assert attribute_vector({"gender": "x"})[0] == -1.0  # unknown class: no loss

    plain = TargetClassifier(speech_encoder(), None, cue="enroll").eval()  # eval: no dropout
    aux = TargetClassifier(speech_encoder(), None, cue="enroll", aux_weight=0.5).eval()
    batch, label = enroll_batch(), torch.tensor([[1], [1]])
    attrs = torch.tensor([vec, vec])
    loss_plain, _, _ = plain(label=label, **batch)
    loss, stats, _ = aux(label=label, attr1=attrs, attr2=attrs, **batch)
    assert {"pair_loss", "aux_loss", "aux_gender_acc"} <= set(stats)
    assert loss.item() == pytest.approx(stats["pair_loss"].item() + 0.5 * stats["aux_loss"].item(), rel=1e-5)
    assert stats["pair_loss"].item() == pytest.approx(loss_plain.item(), rel=1e-5)  # the same seeded encoder
    loss.backward()
    assert aux.aux.reg.weight.grad is not None and torch.isfinite(aux.aux.reg.weight.grad).all()
    unknown = torch.tensor([attribute_vector({})] * 2)  # nothing known: the pair loss alone
    loss_u, stats_u, _ = aux(label=label, attr1=unknown, attr2=unknown, **batch)
    assert stats_u["aux_loss"].item() == 0.0
    with pytest.raises(ValueError, match="rerun stage 7"):
        aux(label=label, attr1=attrs[:, :5], attr2=attrs[:, :5], **batch)


def test_readout_starts_as_the_cosine_model_and_learns_a_direction():
    """The readout term starts at zero (same sims as without it), is antisymmetric in the
    candidates, needs attributes to compare, and gets gradients."""
    from tse2.models.aux import SIZE

    batch = enroll_batch()
    torch.manual_seed(0)
    base = TargetClassifier(speech_encoder(), None, cue="enroll", relative=True, aux_weight=0.5).eval()
    torch.manual_seed(0)
    model = TargetClassifier(speech_encoder(), None, cue="enroll", relative=True, aux_weight=0.5, readout=True)
    model.load_state_dict(base.state_dict(), strict=False)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(model.similarities(**batch)[0], base.similarities(**batch)[0], atol=1e-6)
        torch.nn.init.normal_(model.readout.weight)
        s1, s2 = model.similarities(**batch)
        swapped = dict(batch, cand1=batch["cand2"], cand2=batch["cand1"])
        t1, t2 = model.similarities(**swapped)
    assert not torch.allclose(s1, base.similarities(**batch)[0].detach())
    assert torch.allclose(s1, t2, atol=1e-6) and torch.allclose(s2, t1, atol=1e-6)
    model.train()
    attrs = torch.zeros(2, SIZE)
    loss, _, _ = model(label=torch.tensor([[1], [0]]), attr1=attrs, attr2=attrs, **batch)
    loss.backward()
    assert model.readout.weight.grad is not None and model.readout.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="set aux_weight > 0 or split > 0"):
        TargetClassifier(speech_encoder(), None, cue="enroll", readout=True)
