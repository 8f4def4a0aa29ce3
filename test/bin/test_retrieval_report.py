"""The retrieval report's summary names the test set of each row: one model scored on the espeak
test set and on the real-voice one gives two blocks that must not read as the same thing."""

from __future__ import annotations

import json

from tse2.bin import retrieval_score


def _score_dir(path, r1):
    path.mkdir(parents=True)
    mean = {str(k): r1 for k in (1, 5, 10, 20)}
    (path / "results.json").write_text(json.dumps({"train phrasings": {"mean": mean, "per_style": {}}}))
    (path / "tables.md").write_text(f"R@1 {r1}\n")


def test_summary_rows_name_their_set(tmp_path):
    _score_dir(tmp_path / "ret_a" / "score_test", 0.75)
    _score_dir(tmp_path / "ret_a" / "score_test_real", 0.5)
    out = tmp_path / "RESULTS.md"
    assert retrieval_score.main(["report", "--score", str(tmp_path / "ret_a/score_test"),
                                 "--score", str(tmp_path / "ret_a/score_test_real"), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| model | set | queries |" in text
    assert "| ret_a | test | train phrasings | 0.750 |" in text
    assert "| ret_a | test_real | train phrasings | 0.500 |" in text
    assert "## ret_a (score_test_real)" in text
