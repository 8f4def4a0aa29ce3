"""Inference-only copies of two frozen transformer stacks: Whisper's audio encoder and BERT.

Why hand-written: start-up.  Importing transformers' modeling modules costs 2.3 s of the
classifier's 6.2 s start-up on this machine (they import ``torch._dynamo``, sympy, scipy.optimize
and ``torch.distributed.tensor`` through its integrations; ``bench/startup.py --steps``), and the
tools' 5 s start-up goal cannot be met with them.  The frozen models the embedded classifier uses
need only their forward pass, a few dozen lines each, so they are written here with transformers'
own parameter names (a transformers state dict loads into them strictly, and back), and checked
against transformers' modules in ``test/models/test_lite.py`` (to 1e-5).  Anything that trains
the text model (LoRA) or another architecture still goes through transformers and peft.

- :class:`WhisperEncoder`: ``transformers.models.whisper.modeling_whisper.WhisperEncoder``'s
  layers (pre-LayerNorm, exact GELU, no key bias); :func:`tse2.models.whisper.encode` runs it on
  any input length.
- :class:`BertModel`: ``transformers.BertModel`` without its pooler (post-LayerNorm, absolute
  positions, token type 0), returning ``last_hidden_state``; built from a model directory's
  ``config.json`` and ``model.safetensors``.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F


def _heads(x: torch.Tensor, n: int) -> torch.Tensor:
    """(B, L, D) → (B, n, L, D / n)."""
    return x.view(x.shape[0], x.shape[1], n, -1).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """(B, n, L, d) → (B, L, n·d)."""
    return x.transpose(1, 2).flatten(2)


class SimpleModule(nn.Module):
    """A module holding named children (transformers' nesting, for its parameter names)."""

    def __init__(self, **children: nn.Module) -> None:
        super().__init__()
        for name, child in children.items():
            self.add_module(name, child)


class WhisperAttention(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj = nn.Linear(d, d), nn.Linear(d, d, bias=False)
        self.v_proj, self.out_proj = nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (_heads(p(x), self.heads) for p in (self.q_proj, self.k_proj, self.v_proj))
        return self.out_proj(_merge(F.scaled_dot_product_attention(q, k, v)))


class WhisperLayer(nn.Module):
    def __init__(self, d: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.self_attn = WhisperAttention(d, heads)
        self.self_attn_layer_norm, self.final_layer_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x: torch.Tensor, attention_mask=None) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_layer_norm(x))
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))


class WhisperEncoder(nn.Module):
    """Whisper's audio encoder: two convolutions, sinusoidal positions, pre-LN layers, a final LN."""

    def __init__(self, d_model: int, num_mel_bins: int, encoder_layers: int, encoder_attention_heads: int,
                 encoder_ffn_dim: int, max_source_positions: int) -> None:
        super().__init__()
        self.config = SimpleNamespace(d_model=d_model, num_mel_bins=num_mel_bins, encoder_layers=encoder_layers,
                                      encoder_attention_heads=encoder_attention_heads,
                                      encoder_ffn_dim=encoder_ffn_dim, max_source_positions=max_source_positions)
        self.conv1 = nn.Conv1d(num_mel_bins, d_model, 3, padding=1)
        self.conv2 = nn.Conv1d(d_model, d_model, 3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(max_source_positions, d_model)
        self.layers = nn.ModuleList(WhisperLayer(d_model, encoder_attention_heads, encoder_ffn_dim)
                                    for _ in range(encoder_layers))
        self.layer_norm = nn.LayerNorm(d_model)


class BertSelfAttention(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)


class BertAttention(nn.Module):
    def __init__(self, d: int, heads: int, eps: float) -> None:
        super().__init__()
        self.self = BertSelfAttention(d, heads)
        self.output = SimpleModule(dense=nn.Linear(d, d), LayerNorm=nn.LayerNorm(d, eps=eps))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        s = self.self
        q, k, v = (_heads(p(x), s.heads) for p in (s.query, s.key, s.value))
        att = _merge(F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
        return self.output.LayerNorm(x + self.output.dense(att))


class BertLayer(nn.Module):
    def __init__(self, d: int, heads: int, ffn: int, eps: float) -> None:
        super().__init__()
        self.attention = BertAttention(d, heads, eps)
        self.intermediate = SimpleModule(dense=nn.Linear(d, ffn))
        self.output = SimpleModule(dense=nn.Linear(ffn, d), LayerNorm=nn.LayerNorm(d, eps=eps))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, mask)
        return self.output.LayerNorm(x + self.output.dense(F.gelu(self.intermediate.dense(x))))


class BertModel(nn.Module):
    """A BERT encoder (``model_type: bert``, absolute positions, GELU) → ``last_hidden_state``."""

    SUPPORTED = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}

    def __init__(self, config: dict) -> None:
        super().__init__()
        for key, want in self.SUPPORTED.items():
            if config.get(key, want) != want:
                raise ValueError(f"lite BERT: {key} {config.get(key)!r} is not supported (only {want!r})")
        d, eps = config["hidden_size"], config.get("layer_norm_eps", 1e-12)
        self.config = SimpleNamespace(**config)
        self.embeddings = SimpleModule(
            word_embeddings=nn.Embedding(config["vocab_size"], d, padding_idx=config.get("pad_token_id", 0)),
            position_embeddings=nn.Embedding(config["max_position_embeddings"], d),
            token_type_embeddings=nn.Embedding(config.get("type_vocab_size", 2), d),
            LayerNorm=nn.LayerNorm(d, eps=eps))
        self.encoder = SimpleModule(layer=nn.ModuleList(
            BertLayer(d, config["num_attention_heads"], config["intermediate_size"], eps)
            for _ in range(config["num_hidden_layers"])))

    @classmethod
    def from_dir(cls, path: str) -> "BertModel":
        """The model of a transformers directory (``config.json`` + ``model.safetensors``), strictly:
        every weight present, only the pooler's (unused here) left out."""
        from safetensors.torch import load_file

        path = Path(path)
        weights = path / "model.safetensors"
        if not weights.is_file():
            raise FileNotFoundError(f"{path}: no model.safetensors (the lite BERT reads only that format)")
        model = cls(json.loads((path / "config.json").read_text(encoding="utf-8")))
        state = {k.removeprefix("bert."): v for k, v in load_file(str(weights)).items()}
        state = {k: v for k, v in state.items() if not k.startswith("pooler.") and k != "embeddings.position_ids"}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(f"{weights}: not a BERT checkpoint of this shape (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]})")
        return model.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        e = self.embeddings
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = e.word_embeddings(input_ids) + e.position_embeddings(positions)[None] + e.token_type_embeddings.weight[0]
        x = e.LayerNorm(x)
        mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L): every query sees the real tokens
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return SimpleNamespace(last_hidden_state=x)
