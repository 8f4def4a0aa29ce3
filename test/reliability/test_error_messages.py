"""Reliability: malformed metadata a user can hand a stage (a broken JSON line, a record without a
field, data files that disagree, a config of the wrong kind) is one line naming the file, and line
where there is one, through the tools' shared error path: never a traceback or a bare ``'spk1'``."""

from __future__ import annotations

import argparse
import logging

import pytest
import yaml

from conftest import ROOT
from tse2.cues.labels import IndependentBins
from tse2.models.enh_build import load_model
from tse2.utils.cli import run_tool
from tse2.utils.datadir import read_map
from tse2.utils.fileio import read_jsonl


@pytest.mark.parametrize("line,expect", [
    (b'{"mix": "m2", "kind": "text\x01"}', r"prompts.jsonl:2: not valid JSON \(Invalid control character"),
    (b'["m2", 1]', r"prompts.jsonl:2: expected a JSON object, got list"),
    (b'{"mix": "caf\xe9"}', r"prompts.jsonl:2: not UTF-8 \(byte 13 of the line\)"),
])
def test_a_bad_jsonl_line_is_named_with_its_line(tmp_path, line, expect):
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(b'{"mix": "m1", "kind": "text"}\n' + line + b"\n")
    with pytest.raises(ValueError, match=expect):
        read_jsonl(path)


def _tool(handler, caplog) -> str:
    """The one-line message a tse2 tool prints when ``handler`` fails (rc 1)."""
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        assert run_tool(argparse.ArgumentParser(prog="tool"), lambda args: handler(), []) == 1
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    return record.getMessage()


def test_a_record_without_a_field_names_file_line_and_field(tmp_path, caplog):
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"mix": "m1", "kind": "text"}\n{"mix": "m2"}\n')
    rows = read_jsonl(path)
    assert rows[0]["kind"] == "text" and rows[1].get("kind") is None  # .get is unchanged
    message = _tool(lambda: [r["kind"] for r in rows], caplog)
    assert message.startswith(f"{path}:2: no 'kind' field in this record (fields: mix)")


def test_data_files_that_disagree_name_the_file_lacking_the_entry(tmp_path, caplog):
    (tmp_path / "wav.scp").write_text("m1 a.wav\nm2 b.wav\n")
    (tmp_path / "spk1.scp").write_text("m1 a1.wav\n")
    wavs, refs = read_map(tmp_path / "wav.scp"), read_map(tmp_path / "spk1.scp")
    message = _tool(lambda: [refs[m] for m in wavs], caplog)
    assert message.startswith(f"{tmp_path / 'spk1.scp'}: no entry for 'm2' (1 entries)")
    assert _tool(lambda: {}["plain"], caplog) == "'plain'"  # other KeyErrors print as before


def test_a_bins_file_of_another_kind_says_how_to_remake_it(tmp_path):
    path = tmp_path / "bins.json"
    path.write_text('{"bins": {}}')
    with pytest.raises(ValueError, match=rf"{path}: not an independent-cue bins file .* --fit_bins"):
        IndependentBins.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not an independent-cue bins file"):
        IndependentBins.load(path)


@pytest.mark.parametrize("edit,expect", [
    (lambda c: c.pop("separator"), "not a usable separator config"),  # e.g. a classifier's config
    (lambda c: c["separator_conf"].update(hopp=64), "unexpected keyword argument 'hopp'"),
])
def test_a_separator_config_of_the_wrong_kind_is_named(tmp_path, edit, expect):
    from tse2.tasks.enh import Tse2EnhancementTask

    args = Tse2EnhancementTask.get_parser().parse_args(
        ["--config", str(ROOT / "egs/TEMPLATE/tse2/conf/tuning/sep_tflocoformer_tiny.yaml"), "--output_dir", "x"])
    conf = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
    edit(conf)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(conf))
    with pytest.raises(ValueError, match=expect) as err:
        load_model(path)
    assert str(path) in str(err.value)


def test_the_single_stage_runtime_reads_configs_and_checkpoints_safely(tmp_path):
    from tse2.inference.single_stage import SingleStageExtractor

    bad = tmp_path / "config.yaml"
    bad.write_text("extractor: tf_locoformer\nextractor_conf: {num_spk: 1\n")
    with pytest.raises(ValueError, match=rf"{bad}:\d+"):
        SingleStageExtractor(bad, tmp_path / "model.pth")
    other = tmp_path / "other.yaml"
    other.write_text("encoder: stft\n")  # a separator's config, say
    with pytest.raises(ValueError, match="text_encoder_conf.model_dir is required|not a single-stage"):
        SingleStageExtractor(other, tmp_path / "model.pth")


def test_a_target_that_is_not_1_or_2_is_named_with_its_line(tmp_path):
    from tse2.utils.datadir import DataDirError, read_targets

    path = tmp_path / "utt2target"
    path.write_text("m1 1\nm2 2\n")
    assert read_targets(path) == {"m1": 1, "m2": 2}
    path.write_text("m1 1\nm2 one\n")
    with pytest.raises(DataDirError, match=rf"{path}:2: the target of m2 must be 1 or 2, got 'one'"):
        read_targets(path)


def test_key_lists_take_bare_ids_and_name_a_key_the_data_lacks(tmp_path):
    """``--key_file`` of cls_inference / tse_inference: bare ids or ``<key> <value>`` lines (as
    ESPnet reads them); a key the example dir lacks is named with its line before any model runs
    (ESPnet's iterator failed deep inside)."""
    from types import SimpleNamespace

    from tse2.inference.classifier import ClassifierSelector
    from tse2.utils.datadir import DataDirError, read_keys

    (tmp_path / "bare").write_text("ex1\nex2\n")
    (tmp_path / "pairs").write_text("ex1 a.wav\nex2 b.wav\n")
    assert read_keys(tmp_path / "bare") == read_keys(tmp_path / "pairs") == ["ex1", "ex2"]
    (tmp_path / "dup").write_text("ex1\nex1\n")
    with pytest.raises(DataDirError, match=r"dup:2: duplicate key 'ex1'"):
        read_keys(tmp_path / "dup")

    data = tmp_path / "examples"
    data.mkdir()
    for name in ("cand1.scp", "cand2.scp"):
        (data / name).write_text("ex1 a.wav\n")
    (data / "prompt").write_text("ex1 the louder one\n")
    with pytest.raises(DataDirError, match=r"bare:2: 'ex2' is not in .*cand1.scp \(1 entries\)"):
        ClassifierSelector.batches(SimpleNamespace(cue="text"), data, tmp_path / "bare")


def test_stage_8_batches_read_the_example_dir_in_key_order_and_name_a_bad_file(tmp_path):
    """The classifier's own reader (stage 8 no longer imports ESPnet's task for its iterator):
    zero-padded batches with lengths, in the key list's order; a wav at another rate, or a prompt
    file without an example's key, is named."""
    from types import SimpleNamespace

    import numpy as np
    import soundfile as sf

    from tse2.inference.classifier import ClassifierSelector
    from tse2.utils.audio import AudioError
    from tse2.utils.datadir import DataDirError

    data = tmp_path / "examples"
    data.mkdir()
    for name, n in (("a", 1600), ("b", 800)):
        sf.write(data / f"{name}.wav", np.full(n, 0.25, dtype=np.float32), 16000, subtype="FLOAT")
    (data / "cand1.scp").write_text(f"ex1 {data / 'a.wav'}\nex2 {data / 'b.wav'}\n")
    (data / "cand2.scp").write_text(f"ex1 {data / 'b.wav'}\nex2 {data / 'a.wav'}\n")
    (data / "prompt").write_text("ex1 the louder one\nex2 her, not him\n")
    (tmp_path / "keys").write_text("ex2\nex1\n")
    selector = SimpleNamespace(cue="text", fs=16000,
                               preprocess=lambda key, d: {**d, "prompt": np.array([len(d["prompt"])], dtype=np.int64)})
    [(keys, batch)] = list(ClassifierSelector.batches(selector, data, tmp_path / "keys"))
    assert keys == ["ex2", "ex1"]
    assert batch["cand1_lengths"].tolist() == [800, 1600] and batch["cand1"].shape == (2, 1600)
    assert batch["cand1"][0, 799] == 0.25 and batch["cand1"][0, 800:].abs().sum() == 0  # zero padding
    assert batch["prompt"].tolist() == [[len("her, not him")], [len("the louder one")]]

    sf.write(data / "b.wav", np.zeros(800, dtype=np.float32), 8000)
    with pytest.raises(AudioError, match=r"b.wav: sample rate is 8000 Hz, expected 16000 Hz"):
        list(ClassifierSelector.batches(selector, data))
    (data / "prompt").write_text("ex1 the louder one\n")
    with pytest.raises(DataDirError, match=r"prompt has no entry for 'ex2', which .*cand1.scp lists"):
        ClassifierSelector.batches(selector, data)
