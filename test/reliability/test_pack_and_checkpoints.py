"""Reliability: pack never removes what it did not write, checkpoints load as tensors only and
strictly, a pack's files are verified, and extract never writes over its input.

Each case names the file and the problem on one line (rc 1), with no traceback and nothing lost.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from conftest import ROOT
from tse2.bin import extract, pack
from tse2.packing import META, PackError, read_meta
from tse2.tasks.enh import Tse2EnhancementTask

FS = 16000


@pytest.fixture(scope="module")
def sep_exp(tmp_path_factory) -> Path:
    """An untrained tiny TF-Locoformer saved as stage 5 saves one (config.yaml + checkpoint)."""
    exp = tmp_path_factory.mktemp("exp") / "sep_tiny"
    args = Tse2EnhancementTask.get_parser().parse_args(
        ["--config", str(ROOT / "egs/TEMPLATE/tse2/conf/tuning/sep_tflocoformer_tiny.yaml"), "--output_dir", str(exp)])
    torch.manual_seed(0)
    model = Tse2EnhancementTask.build_model(args)
    exp.mkdir(parents=True)
    conf = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
    (exp / "config.yaml").write_text(yaml.safe_dump(conf))
    torch.save(model.state_dict(), exp / "valid.si_snr_loss.best.pth")
    return exp


def _pack(sep_exp: Path, out: Path) -> int:
    return pack.main(["--sep_dir", str(sep_exp), "--out_dir", str(out)])


def _wav(path: Path) -> Path:
    t = np.arange(FS) / FS
    sf.write(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), FS)
    return path


def test_pack_refuses_a_directory_it_did_not_write(sep_exp, tmp_path, caplog, monkeypatch):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "precious.txt").write_text("keep me")
    assert _pack(sep_exp, user) == 1
    assert "mine: is not empty and not a tse2 pack (it holds 'precious.txt')" in caplog.text
    assert (user / "precious.txt").read_text() == "keep me"
    # the current directory (and any above it) is never packed into
    monkeypatch.chdir(user)
    assert _pack(sep_exp, Path(".")) == 1 and (user / "precious.txt").exists()
    assert _pack(sep_exp, Path("..")) == 1
    (tmp_path / "a_file").write_text("x")
    assert _pack(sep_exp, tmp_path / "a_file") == 1 and (tmp_path / "a_file").read_text() == "x"
    assert "exists and is not a directory" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "mine"]  # no temporary dirs left


def test_pack_replaces_a_pack_whole_but_not_one_holding_foreign_files(sep_exp, tmp_path, caplog):
    out = tmp_path / "p"
    assert _pack(sep_exp, out) == 0
    (out / "check").mkdir()  # what --check_mix_dir writes: part of a pack
    (out / "check" / "x_target.wav").write_bytes(b"RIFF")
    first = json.loads((out / META).read_text())
    assert set(first["files"]) == {"separator/config.yaml", "separator/model.pth"}
    assert _pack(sep_exp, out) == 0 and not (out / "check").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # the old pack and the temporary dir are gone
    (out / "notes.txt").write_text("mine")
    assert _pack(sep_exp, out) == 1
    assert "is a tse2 pack that also holds 'notes.txt', which pack did not write" in caplog.text
    assert (out / "notes.txt").read_text() == "mine" and (out / META).is_file()


def test_pack_keeps_user_files_inside_a_packs_subfolders(sep_exp, tmp_path, caplog):
    """A user's take in ``check/`` or a note in ``separator/`` of an existing pack is named and kept:
    pack used to check only the top-level entries, and deleted these with the old pack."""
    out = tmp_path / "packB"
    assert _pack(sep_exp, out) == 0
    (out / "check").mkdir()
    (out / "check" / "m1_target.wav").write_bytes(b"RIFF")  # pack's own (recorded in tse2_model.json)
    from tse2.packing import record_check_files

    record_check_files(out, ["m1_target.wav"])
    for rel in ("check/my_take_2.wav", "separator/README_mine.txt"):
        (out / rel).write_text("mine")
        assert _pack(sep_exp, out) == 1
        assert f"also holds '{rel}', which pack did not write" in caplog.text
        assert (out / rel).read_text() == "mine" and (out / META).is_file()
        (out / rel).unlink()
    (out / "separator" / "link").symlink_to(tmp_path)
    assert _pack(sep_exp, out) == 1 and "'separator/link/'" in caplog.text
    (out / "separator" / "link").unlink()
    assert _pack(sep_exp, out) == 0 and not (out / "check").exists()  # only pack's files: replaced


def test_written_files_follow_the_umask_and_keep_their_mode(sep_exp, tmp_path):
    """tempfile's 0600 used to leak into every output (extract's wavs, RESULTS.md, packs): a shared
    recipe dir became unreadable to the group."""
    from tse2.utils.fileio import atomic_open, write_wav

    old = os.umask(0o022)
    try:
        write_wav(tmp_path / "a.wav", np.zeros(160, np.float32), FS)
        assert (tmp_path / "a.wav").stat().st_mode & 0o777 == 0o644
        os.chmod(tmp_path / "a.wav", 0o664)  # an overwritten file keeps its mode
        write_wav(tmp_path / "a.wav", np.ones(160, np.float32) * 0.1, FS)
        assert (tmp_path / "a.wav").stat().st_mode & 0o777 == 0o664
        os.umask(0o027)
        with atomic_open(tmp_path / "RESULTS.md") as f:
            f.write("x\n")
        assert (tmp_path / "RESULTS.md").stat().st_mode & 0o777 == 0o640
        os.umask(0o002)
        assert _pack(sep_exp, tmp_path / "p") == 0
        assert (tmp_path / "p").stat().st_mode & 0o777 == 0o775
        assert (tmp_path / "p" / META).stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)


def test_a_changed_pack_file_is_named_before_anything_loads(sep_exp, tmp_path, caplog):
    out = tmp_path / "p"
    assert _pack(sep_exp, out) == 0
    read_meta(out)  # verifies
    with open(out / "separator/model.pth", "ab") as f:
        f.write(b"\0")
    with pytest.raises(PackError, match=r"separator/model.pth: its sha256 differs"):
        read_meta(out)
    (out / "separator/model.pth").unlink()
    mix = _wav(tmp_path / "in.wav")
    assert extract.main(["--model_dir", str(out), "--selector", "attributes", "--prompt", "the louder one",
                         str(mix), str(tmp_path / "o.wav")]) == 1
    assert "separator/model.pth: missing (tse2_model.json lists it)" in caplog.text and "Traceback" not in caplog.text


class _Planted:
    """Unpickling this runs code: what a checkpoint from a stranger may hold."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.mark.parametrize("case", ["pickle", "empty", "truncated", "other_model", "not_a_dict"])
def test_bad_separator_checkpoints_are_errors_naming_the_file(sep_exp, tmp_path, case):
    ckpt = tmp_path / "model.pth"
    good = (sep_exp / "valid.si_snr_loss.best.pth").read_bytes()
    marker = tmp_path / "code_ran"
    if case == "pickle":
        torch.save({"w": torch.zeros(1), "x": _Planted(str(marker))}, ckpt, pickle_protocol=pickle.HIGHEST_PROTOCOL)
        expect = "not a loadable checkpoint of tensors"
    elif case == "empty":
        ckpt.write_bytes(b"")
        expect = "not a loadable checkpoint of tensors"
    elif case == "truncated":
        ckpt.write_bytes(good[: len(good) // 2])
        expect = "not a loadable checkpoint of tensors"
    elif case == "other_model":  # e.g. the classifier's checkpoint copied over the separator's
        torch.save({"speech_encoder.out.0.weight": torch.zeros(2, 2)}, ckpt)
        expect = "does not fit"
    else:
        torch.save([torch.zeros(1)], ckpt)
        expect = "holds a list, not a state dict"
    with pytest.raises(ValueError, match=expect) as err:
        Tse2EnhancementTask.build_model_from_file(sep_exp / "config.yaml", ckpt)
    assert str(ckpt) in str(err.value) and "\n" not in str(err.value)
    assert not marker.exists(), "unpickling the checkpoint ran code"


def test_a_separator_only_pack_with_the_classifier_selector_says_so(sep_exp, tmp_path, caplog):
    out = tmp_path / "p"
    assert _pack(sep_exp, out) == 0
    mix = _wav(tmp_path / "in.wav")
    assert extract.main(["--model_dir", str(out), "--prompt", "the louder one", str(mix), str(tmp_path / "o.wav")]) == 1
    assert "holds a separator only" in caplog.text and "--selector attributes" in caplog.text


def test_extract_never_writes_over_its_input(sep_exp, tmp_path, caplog):
    out = tmp_path / "p"
    assert _pack(sep_exp, out) == 0
    mix = _wav(tmp_path / "in.wav")
    before = mix.read_bytes()
    run = ["--model_dir", str(out), "--selector", "attributes", "--prompt", "the louder one"]
    assert extract.main(run + [str(mix), str(mix)]) == 1
    assert "in.wav: is also an input" in caplog.text
    assert extract.main(run + ["--other", str(tmp_path / "x.wav"), str(mix), str(tmp_path / "x.wav")]) == 1
    assert "given as both the output and --other" in caplog.text
    assert mix.read_bytes() == before and not (tmp_path / "x.wav").exists()


def test_bad_audio_is_rejected_before_any_model_loads(tmp_path, caplog, monkeypatch):
    """The models are never built for an input that cannot be extracted from (here: no pack at all
    would be needed to fail; the audio check comes first)."""
    from tse2 import extractor

    def boom(*a, **k):  # pragma: no cover - reached only if the order is wrong
        raise AssertionError("a model was loaded before the audio was checked")

    monkeypatch.setattr(extractor.TextGuidedExtractor, "from_pretrained", classmethod(boom))
    sf.write(tmp_path / "nan.wav", np.full(FS, np.nan, dtype=np.float32), FS, subtype="FLOAT")
    sf.write(tmp_path / "short.wav", np.full(FS // 10, 0.1, dtype=np.float32), FS)
    for name, message in (("nan.wav", "contains NaN or infinite samples"), ("short.wav", "tse2 needs at least 0.25 s")):
        assert extract.main(["--model_dir", str(tmp_path), "--prompt", "x", str(tmp_path / name),
                             str(tmp_path / "o.wav")]) == 1
        assert f"{name}: {message}" in caplog.text or message in caplog.text


def test_a_config_with_a_python_tag_is_refused_with_its_line(sep_exp, tmp_path):
    conf = tmp_path / "config.yaml"
    marker = tmp_path / "code_ran"
    conf.write_text((sep_exp / "config.yaml").read_text() + f"evil: !!python/object/apply:os.mkdir [{marker}]\n")
    n = len(conf.read_text().splitlines())
    with pytest.raises(ValueError, match=rf"config.yaml:{n}: not a valid config") as err:
        Tse2EnhancementTask.build_model_from_file(conf, sep_exp / "valid.si_snr_loss.best.pth")
    assert "\n" not in str(err.value) and not marker.exists()
    conf.write_bytes(b"encoder: \xff\xfe\n")
    with pytest.raises(ValueError, match="config.yaml: not UTF-8 text"):
        Tse2EnhancementTask.build_model_from_file(conf, None)
