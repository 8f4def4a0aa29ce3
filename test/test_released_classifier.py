"""The embedded recipe's released classifiers (stage 7 installs them): each verifies, installs into an
experiment dir, and selects the described talker of a known pair with the runtime stage 8 uses."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, requires_espeak, two_talkers
from tse2.inference.classifier import ClassifierSelector
from tse2.release import RELEASED_CHECKPOINT, ReleaseError, install_release, read_release

RELEASES = ROOT / "egs/mini_espeak/tse2/released/cls_minilm_whisper"
SYSTEMS = ("text", "text_clean", "enroll")

# two_talkers(): A starts at 0 s, low (male), quiet; B starts at 0.6 s, high (female), ~9 dB louder
PROMPTS = [("Extract the speaker with the higher pitch.", 1), ("the deeper voice, please", 0),
           ("I want the woman's voice.", 1), ("Give me the man.", 0),
           ("the louder talker", 1), ("Keep the quieter one.", 0),
           ("the speaker who starts first", 0), ("Who starts second? Give me that person.", 1)]


@pytest.mark.parametrize("system", SYSTEMS)
def test_release_is_complete_and_small(system):
    meta = read_release(RELEASES / system)  # checks every file's sha256
    assert meta["kind"] == "classifier" and meta["stored_dtype"] == "float16"
    assert meta["model"]["cue"] == ("enroll" if system == "enroll" else "text")
    # only what is trained is stored (the frozen Whisper and MiniLM come from their wheels)
    assert (RELEASES / system / "model.pth").stat().st_size <= 2 * meta["parameters"] + 256 * 1024
    assert meta["command"].startswith("./run.sh") and "--cls_release" in meta["command"]
    assert meta["training"]["best_epoch"] <= meta["training"]["epochs"]


def test_install_copies_a_release_that_loads(tmp_path):
    meta = install_release(RELEASES / "text", tmp_path / "exp", "classifier")
    assert {p.name for p in (tmp_path / "exp").iterdir()} == {"config.yaml", RELEASED_CHECKPOINT, "release.json"}
    assert meta["name"] == "text"
    with pytest.raises(ReleaseError, match="a 'classifier' release, not a separator"):
        install_release(RELEASES / "text", tmp_path / "other", "separator")


def test_a_release_whose_weights_do_not_fit_its_config_is_refused(tmp_path):
    import shutil

    import yaml

    bad = tmp_path / "text"
    shutil.copytree(RELEASES / "text", bad)
    conf = yaml.safe_load((bad / "config.yaml").read_text())
    conf["speech_encoder_conf"]["hidden"] = 128  # another head size: the stored weights do not fit
    (bad / "config.yaml").write_text(yaml.safe_dump(conf))
    from tse2.release import _write_meta
    from tse2.utils.fileio import sha256

    meta = read_release(RELEASES / "text")
    meta["files"]["config.yaml"] = sha256(bad / "config.yaml")
    _write_meta(bad, meta)
    with pytest.raises(ReleaseError, match="does not load into the model config.yaml builds"):
        install_release(bad, tmp_path / "exp", "classifier")
    assert not (tmp_path / "exp").exists()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a release's config keeps frames in dump/feature_cache, relative to the recipe


@requires_espeak
@pytest.mark.parametrize("system", ["text", "text_clean"])
def test_released_text_classifier_picks_the_described_talker(system, tmp_path):
    install_release(RELEASES / system, tmp_path / system, "classifier")
    selector = ClassifierSelector.from_pretrained(tmp_path / system)
    assert selector.model_file.name == RELEASED_CHECKPOINT
    a, b = two_talkers()
    wrong = []
    for prompt, target in PROMPTS:
        for order in ((a, b), (b, a)):  # both candidate orders: no position bias passes
            picked, _, _ = selector(np.stack(order), 16000, prompt)
            truth = target if order[0] is a else 1 - target
            if picked != truth:
                wrong.append((prompt, order[0] is a))
    assert len(wrong) <= 2, f"{system}: wrong on {wrong}"


@requires_espeak
def test_released_enrollment_classifier_picks_the_enrolled_voice(tmp_path):
    from tse2.corpus.espeak import EspeakSynth

    selector = ClassifierSelector.from_pretrained(install_release(RELEASES / "enroll", tmp_path / "e", "classifier")
                                                  and tmp_path / "e")
    a, b = two_talkers()
    synth = EspeakSynth()
    for voice, pitch, truth in (("en-us", 25, 0), ("en-us+f3", 75, 1)):  # another sentence of each voice
        enroll = synth.synthesize("Please call me back when you get home tonight.", voice, pitch=pitch,
                                  sample_rate=16000).audio.astype(np.float32)
        enroll = 0.3 * enroll / np.abs(enroll).max()
        assert selector(np.stack((a, b)), 16000, enroll=enroll)[0] == truth
        assert selector(np.stack((b, a)), 16000, enroll=enroll)[0] == 1 - truth
