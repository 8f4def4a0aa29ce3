"""Every bin/ tool: its parser accepts a minimal command line and rejects a wrong one."""

from __future__ import annotations

import importlib

import pytest

from conftest import ROOT

TOOLS = {
    "validate_data_dir": ["data/train"],
    "espeak_corpus": ["plan", "--sentence_dir", "s", "--outdir", "o"],
    "prep_libri_mls_aishell3": ["--data_root", "data", "--resample_dir", "r"],
    "extract_attributes": ["extract", "--data_dir", "d", "--out", "o.jsonl"],
    "simulate_mixtures": ["ids", "--prefix", "train", "--num", "3", "--out", "l"],
    "make_prompts": ["label", "--mix_dir", "d", "--bins", "b.json"],
    "sep_train": ["--output_dir", "exp/x", "--separator", "tf_locoformer"],
    "separate": ["run", "--model_dir", "m", "--mix_dir", "d", "--wav_dir", "w", "--out", "o.jsonl"],
    "cls_data": ["--mix_dir", "d", "--clean", "--out_dir", "o"],
    "cls_train": ["--output_dir", "exp/x", "--cue", "enroll"],
    "cls_inference": ["run", "--model_dir", "m", "--data_dir", "d", "--out", "o.jsonl"],
    "score": ["report", "--out_dir", "o", "--set", "dev", "d", "s", "--system", "text", "exp/c"],
    "select_attributes": ["--data_dir", "d", "--out", "o.jsonl"],
    "pack": ["--sep_dir", "exp/s", "--out_dir", "exp/packed/x"],
    "extract": ["--model_dir", "m", "--prompt", "the louder talker", "in.wav", "out.wav"],
    "tse_train": ["--output_dir", "exp/x", "--extractor", "dpt"],
    "tse_inference": ["run", "--model_dir", "m", "--data_dir", "d", "--out", "o.jsonl"],
    "release": ["install", "--release_dir", "r", "--exp_dir", "exp/sep_r"],
    "prep_expressive": ["--data_root", "data", "--resample_dir", "r"],
    "retrieval_data": ["prepare", "--data_dir", "d", "--out", "o", "--style_list", "s"],
    "retrieval_train": ["--output_dir", "exp/x", "--style_list", "s"],
    "retrieval_index": ["embed", "--model_dir", "m", "--wav_scp", "w", "--out", "o"],
    "retrieval_query": ["--model_dir", "m", "--index", "i", "--query", "someone whispering"],
    "retrieval_score": ["score", "--model_dir", "m", "--index", "i", "--utt2style", "u", "--out", "o"],
    "remix_data": ["set", "--out", "o", "--wav_dir", "w", "--num", "3"],
    "remix_train": ["--output_dir", "exp/x", "--remixer", "blstm"],
    "remix_cascade_train": ["--output_dir", "exp/x", "--separator_conf", "num_src=4"],
    "remix_eval": ["infer", "--model_dir", "m", "--item", "d,prompt,o"],
    "remix": ["--model_dir", "m", "--prompt", "remove the birds", "in.wav", "out.wav"],
    "voices_corpus": ["--data_root", "data", "--wav_dir", "w"],
    "sep_payload": ["--train", "data/train", "--bank", "b", "--out", "o"],
    "sep_train_fast": ["--payload", "p", "--out", "o"],
    "prep_remix_corpora": ["--textrolspeech", "t", "--data_root", "d", "--resample_dir", "r"],
    "systems": ["describe", "--expdir", "exp", "--sep_tag", "s", "--cls_tag", "c", "--dumpdir", "dump", "text"],
    "text_adapter": ["train", "--out", "o"],
}


def test_every_tool_is_listed():
    found = {p.stem for p in (ROOT / "tse2/bin").glob("*.py") if p.stem != "__init__"}
    assert found == set(TOOLS)


def test_no_tool_imports_another_tool():
    # shared logic lives in the library; a bin tool is a command line around it
    for path in (ROOT / "tse2/bin").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "from tse2.bin" not in text and "import tse2.bin" not in text, path.name


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_parser(name):
    mod = importlib.import_module(f"tse2.bin.{name}")
    parser = mod.get_parser()
    parser.parse_args(TOOLS[name])
    with pytest.raises(SystemExit):
        parser.parse_args(["--no_such_option", "1"])
    assert parser.format_help()


def test_tse2_sh_help(bash):
    out = bash(["bash", str(ROOT / "egs/TEMPLATE/tse2/tse2.sh"), "--help"], cwd=ROOT / "egs/mini_espeak/tse2", check=False)
    assert out.returncode == 0
    assert "1  data preparation" in out.stderr and "--stop_stage" in out.stderr


def test_retrieval_sh_help_and_bad_ablation(bash):
    cwd = ROOT / "egs/mini_espeak/retrieval"
    out = bash(["bash", str(ROOT / "egs/TEMPLATE/retrieval/retrieval.sh"), "--help"], cwd=cwd, check=False)
    assert out.returncode == 0 and "4  embedding the collection" in out.stderr
    out = bash(["bash", str(ROOT / "egs/TEMPLATE/retrieval/retrieval.sh"), "--ablations", "no_x", "--stage", "9"],
               cwd=cwd, check=False)
    assert out.returncode == 1 and "unknown ablation 'no_x'" in out.stderr


def test_remix_sh_help_and_unknown_argument(bash):
    cwd = ROOT / "egs/mini_espeak/remix"
    out = bash(["bash", str(ROOT / "egs/TEMPLATE/remix/remix.sh"), "--help"], cwd=cwd, check=False)
    assert out.returncode == 0 and "4  inference" in out.stderr
    out = bash(["bash", str(ROOT / "egs/TEMPLATE/remix/remix.sh"), "--stage", "9", "extra"], cwd=cwd, check=False)
    assert out.returncode == 1 and "unexpected arguments: extra" in out.stderr
