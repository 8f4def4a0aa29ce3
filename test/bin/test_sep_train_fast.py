"""The accelerator trainer: its model is ESPnet's weight for weight, the payload round-trips, the
on-device mixing follows stage 3's rules and is deterministic, and a short CPU run writes a
checkpoint that the release config loads strictly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import ROOT, requires_espeak
from tse2.bin import sep_payload, sep_train_fast
from tse2.tasks import sep_fast
from tse2.utils.datadir import spk2utt_from_utt2spk, write_map
from tse2.utils.fileio import write_wav

RELEASE = ROOT / "egs/mini_espeak/tse2/released/sep_blstm_256x3_dm"
FS = 16000


def test_forward_is_espnets():
    from tse2.models.enh_build import load_model

    esp, _ = load_model(RELEASE / "config.yaml", RELEASE / "model.pth")
    ours = sep_fast.build_model(256, 3, 512, 256)
    state = torch.load(RELEASE / "model.pth", weights_only=True)
    ours.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    esp.eval(), ours.eval()
    x = torch.randn(2, 24000, generator=torch.Generator().manual_seed(0)) * 0.1
    with torch.no_grad():
        a = ours(x)
        b = torch.stack(esp.forward_enhance(x, torch.tensor([24000, 24000]))[0], 1)
    assert torch.allclose(a, b, atol=1e-5)


def test_pit_si_snr_picks_the_permutation():
    t = torch.linspace(0, 1, 8000)
    s1, s2 = torch.sin(2 * np.pi * 220 * t), torch.sin(2 * np.pi * 330 * t + 1)
    refs = torch.stack([s1, s2])[None]
    swapped = torch.stack([s2, s1])[None] + 0.01 * torch.randn(1, 2, 8000, generator=torch.Generator().manual_seed(1))
    assert float(sep_fast.pit_si_snr(swapped, refs)) > 30


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    """Four espeak speakers, two utterances each; a 4-room bank; packed with one dev set."""
    from tse2.corpus.espeak import EspeakSynth
    from tse2.simulation.bank import build_bank

    top = tmp_path_factory.mktemp("payload")
    synth = EspeakSynth()
    voices = {"spkA": ("en-us", 20), "spkB": ("en-us+f3", 60), "spkC": ("en-us+m3", 35), "spkD": ("en-us+f2", 70)}
    lines = ["The red bird sits on the fence by the river.", "Two dogs run in the park after the rain."]
    for split, spks in (("train", ("spkA", "spkB", "spkC")), ("dev", ("spkC", "spkD"))):
        wav, utt2spk, src = {}, {}, {}
        for s in spks:
            for k, line in enumerate(lines):
                utt = f"{s}_{k}"
                path = top / "wav" / f"{utt}.wav"
                write_wav(path, synth.synthesize(line, voices[s][0], pitch=voices[s][1], sample_rate=FS).audio * 0.5, FS)
                wav[utt], utt2spk[utt], src[utt] = str(path), s, "tuxpaint" if s == "spkA" else "festival"
        d = top / split
        write_map(d / "wav.scp", wav), write_map(d / "utt2spk", utt2spk), write_map(d / "utt2source", src)
        write_map(d / "spk2utt", spk2utt_from_utt2spk(utt2spk))
        if split == "train":  # stage-2 trim points of one utterance: the payload keeps 0.5-1.5 s of it
            dur = len(sf.read(wav["spkB_0"])[0]) / FS
            (d / "attributes.jsonl").write_text(json.dumps({"utt": "spkB_0", "duration": dur, "speech_start": 0.5,
                                                            "speech_end": 1.5}) + "\n")
    build_bank(top / "bank", "train", range(4), 0, "ism_diffuse", FS)
    rc = sep_payload.main(["--train", str(top / "train"), "--dev", str(top / "dev"), "--bank", str(top / "bank"),
                           "--rooms", "4", "--out", str(top / "pl")])
    assert rc == 0
    return top / "pl"


@requires_espeak
def test_payload_round_trip(payload):
    index, sets, rirs = sep_fast.load_payload(payload)
    audio, utts = sets["train"]
    assert index["fs"] == FS and len(utts) == 6 and rirs.shape[:2] == (4, 2)
    assert utts[:, 3].tolist() == [1, 1, 0, 0, 0, 0]  # spkA is "recorded"
    assert int((utts[:, 0] + utts[:, 1]).max()) == len(audio)
    assert utts[2, 1] == FS  # spkB_0 trimmed to its stage-2 speech span
    assert len(set(utts[:, 2].tolist())) == 3 and index["speakers"][:3] == ["spkA", "spkB", "spkC"]


@requires_espeak
def test_payload_is_the_same_read_in_two_processes(payload, tmp_path):
    """--nj 2 reads the audio in a pool: the same index and the same decoded Opus audio as one
    process (the files' bytes differ only in Ogg's random stream serial numbers)."""
    top = payload.parent
    rc = sep_payload.main(["--train", str(top / "train"), "--dev", str(top / "dev"), "--bank", str(top / "bank"),
                           "--rooms", "4", "--out", str(tmp_path / "pl2"), "--nj", "2"])
    assert rc == 0
    assert json.loads((tmp_path / "pl2/index.json").read_text()) == json.loads((payload / "index.json").read_text())
    for f in sorted(payload.glob("*.ogg")):
        assert np.array_equal(sf.read(tmp_path / "pl2" / f.name)[0], sf.read(f)[0]), f.name
    assert sep_payload.main(["--train", str(top / "train"), "--bank", str(top / "bank"), "--out",
                             str(tmp_path / "pl3"), "--nj", "0"]) != 0


@requires_espeak
def test_mixer_is_deterministic_and_follows_stage3(payload):
    _, sets, rirs = sep_fast.load_payload(payload)
    audio, utts = sets["train"]
    mixer = sep_fast.Mixer(audio, utts, rirs, FS, torch.device("cpu"), chunk=2.0)
    mix, refs = mixer.draw(np.random.default_rng(5), 4, sep_fast.AUGMENTATIONS, 0.5)
    mix2, refs2 = mixer.draw(np.random.default_rng(5), 4, sep_fast.AUGMENTATIONS, 0.5)
    assert torch.equal(mix, mix2) and torch.equal(refs, refs2)
    assert mix.shape == (4, 2 * FS) and refs.shape == (4, 2, 2 * FS)
    assert float(mix.abs().max()) <= 0.9 + 1e-5
    plain, prefs = mixer.draw(np.random.default_rng(6), 4)
    assert torch.allclose(plain, prefs.sum(1), atol=1e-5)  # no codec: the mixture is the sum of the references
    assert all(float(prefs[b, k].abs().max()) > 0 for b in range(4) for k in range(2))  # both talk in every window
    assert mixer.layout(np.random.default_rng(0), 5 * FS, 4 * FS) == (0, 2 * FS, 6 * FS)  # S2 ends at 6 s
    o1, o2, n = mixer.layout(np.random.default_rng(0), 2 * FS, 5 * FS)  # the shorter inside the longer
    assert o2 == 0 and 0 <= o1 <= 3 * FS and n == 5 * FS


@requires_espeak
def test_short_cpu_run_writes_a_release_loadable_checkpoint(payload, tmp_path):
    from tse2.models.enh_build import load_model

    out = tmp_path / "run"
    rc = sep_train_fast.main(["--payload", str(payload), "--out", str(out), "--device", "cpu", "--dry_run", "2",
                              "--batch", "2", "--chunk", "1", "--dev_mixtures", "2", "--init", str(RELEASE / "model.pth")])
    assert rc == 0
    curve = json.loads((out / "curve.json").read_text())
    assert curve["curve"][-1]["step"] == 2 and np.isfinite(curve["curve"][-1]["dev_sisdri"])
    state = torch.load(out / "best.pth", weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    load_model(RELEASE / "config.yaml", out / "best.pth")  # strict: the keys and shapes of the release
    assert sep_train_fast.main(["--payload", str(payload), "--out", str(out), "--device", "cpu", "--dry_run", "1",
                                "--aug", "reverse"]) == 1


def test_tf_locoformer_arch_is_the_paper_separator():
    from tse2.models.tf_locoformer import TFLocoformerSeparator

    ours = sep_fast.build_model(0, 0, 512, 256, arch="tf_locoformer")
    paper = TFLocoformerSeparator(num_spk=2, n_fft=256, hop_length=128, n_layers=6, emb_dim=128, n_heads=4,
                                  ffn_hidden_dim=384, conv1d_kernel=4, conv1d_shift=1, num_groups=4)
    assert {f"separator.{k}": v.shape for k, v in paper.state_dict().items()} == \
        {k: v.shape for k, v in ours.state_dict().items()}
    x = torch.randn(2, 4000, generator=torch.Generator().manual_seed(0))
    assert sep_fast.build_model(0, 1, 512, 256, arch="tf_locoformer")(x).shape == (2, 2, 4000)
    with pytest.raises(ValueError, match="unknown architecture"):
        sep_fast.build_model(0, 0, 512, 256, arch="conformer")


@requires_espeak
def test_gpu_check_dry_run_on_cpu_writes_its_table(payload, tmp_path, bash):
    """bench/gpu_check.sh's four runs (TF-Locoformer and BLSTM, bf16 off and on), one step each here."""
    import os
    import sys

    out = tmp_path / "check"
    env = {"DRY_RUN": "1", "DEVICE": "cpu", "PAYLOAD": str(payload), "OUT": str(out), "LOCO_LAYERS": "1",
           "CHUNK": "0.5", "DEV_MIXTURES": "2", "BATCH_LOCO": "2", "BATCH_BLSTM": "2",
           "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    res = bash([str(ROOT / "bench/gpu_check.sh")], cwd=ROOT, env=env)
    table = (out / "summary.md").read_text()
    assert res.stdout.count("gpu_check.sh: ") == 4 and "did not finish" not in table, table
    rows = [ln for ln in table.splitlines() if ln.startswith("| loco") or ln.startswith("| blstm")]
    cells = [[c.strip() for c in r.split("|")[2:6]] for r in rows]
    assert [c[:2] for c in cells] == [["tf_locoformer", "false"], ["tf_locoformer", "true"],
                                      ["blstm_mask", "false"], ["blstm_mask", "true"]]
    assert [c[3] for c in cells] == ["1"] * 4  # one step each
    assert not list(out.rglob("*.pth"))
