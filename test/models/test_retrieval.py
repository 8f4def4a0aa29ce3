import torch

from tse2.models.retrieval import StyleRetriever, contrastive_loss, grad_reverse


def test_grl_reverses_and_scales_gradients():
    x = torch.randn(4, 3, requires_grad=True)
    (grad_reverse(x, 0.5) * 2).sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, -1.0))


def test_contrastive_loss_is_symmetric_and_falls_on_a_toy_batch():
    torch.manual_seed(0)
    a, b = torch.randn(8, 16), torch.randn(8, 16)
    s = torch.tensor(10.0)
    assert torch.allclose(contrastive_loss(a, b, s), contrastive_loss(b, a, s))
    lab = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    assert torch.allclose(contrastive_loss(a, b, s, lab), contrastive_loss(b, a, s, lab))
    pa, pb = torch.nn.Linear(16, 8), torch.nn.Linear(16, 8)
    opt = torch.optim.Adam(list(pa.parameters()) + list(pb.parameters()), lr=1e-2)
    first = None
    for _ in range(100):
        loss = contrastive_loss(pa(a), pb(b), s)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first


class _Speech(torch.nn.Module):
    output_size = 6

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 6)

    def forward(self, wav, lengths):
        return self.lin(torch.stack([wav.mean(1), wav.std(1)], 1))


class _Text(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.emb = torch.nn.EmbeddingBag(10, dim)

    def forward(self, ids, lengths):
        return self.emb(ids)


def test_schedule_classification_then_contrastive_then_adversarial():
    torch.manual_seed(0)
    m = StyleRetriever(_Speech(), _Text(8), num_styles=3, embed_dim=8, cls_only_epochs=1, adversarial_from_epoch=3)
    batch = dict(speech=torch.randn(6, 100), speech_lengths=torch.full((6,), 100),
                 prompt=torch.randint(0, 10, (6, 4)), prompt_lengths=torch.full((6,), 4),
                 style=torch.tensor([0, 1, 2, 0, 1, 2]))
    m.set_epoch(1)
    loss, stats, weight = m(**batch)
    assert torch.allclose(loss, 0.5 * stats["cls"]) and "disc" not in stats
    assert weight.shape == (1,) and int(weight) == 6  # 1-dim, for ESPnet's DDP averaging
    loss.backward()
    assert m.text_encoder.emb.weight.grad is None  # classification only: text untouched
    m.set_epoch(2)
    loss, stats, _ = m(**batch)
    assert torch.allclose(loss, 0.5 * stats["cls"] + stats["contrast"]) and "disc" not in stats
    m.set_epoch(3)
    loss, stats, _ = m(**batch)
    assert torch.allclose(loss, 0.5 * stats["cls"] + stats["contrast"] + 0.1 * stats["disc"])
    assert abs(stats["temperature"].item() - 0.07) < 1e-5


def test_text_aux_weight_classifies_the_prompts_with_the_speech_classifier():
    torch.manual_seed(0)
    m = StyleRetriever(_Speech(), _Text(8), num_styles=3, embed_dim=8, cls_only_epochs=1, text_aux_weight=0.25)
    style = torch.tensor([0, 1, 2, 0, 1, 2])
    prompt = (style[:, None] * 3 + torch.arange(3)[None]).repeat(1, 2)  # each style its own words
    batch = dict(speech=torch.randn(6, 100), speech_lengths=torch.full((6,), 100), prompt=prompt,
                 prompt_lengths=torch.full((6,), 6), style=style)
    m.set_epoch(1)
    loss, stats, _ = m(**batch)
    assert torch.allclose(loss, 0.5 * stats["cls"] + 0.25 * stats["cls_text"])
    loss.backward()
    assert m.text_encoder.emb.weight.grad.abs().sum() > 0  # the prompts train from the first epoch
    # the prompts end up where the shared classifier reads their style
    first = stats["cls_text"].item()
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    for _ in range(60):
        loss, stats, _ = m(**batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    _, stats, _ = m(**batch)
    assert stats["acc_text"].item() == 1.0 and stats["cls_text"].item() < 0.2 * first


def test_text_aux_weight_needs_the_auxiliary_classifier():
    import pytest

    with pytest.raises(ValueError, match="text_aux_weight"):
        StyleRetriever(_Speech(), _Text(8), num_styles=3, embed_dim=8, aux_weight=0.0, text_aux_weight=0.5)
