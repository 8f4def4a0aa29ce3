import numpy as np

from tse2.scoring.retrieval import markdown_table, ranks, recall_at, sample_trials, score_style_table


def test_trials_are_deterministic_with_exactly_one_positive():
    styles = ["a"] * 5 + ["b"] * 30 + ["c"] * 30
    p1, d1 = sample_trials(styles, "a", 50, 40, seed=1)
    p2, d2 = sample_trials(styles, "a", 50, 40, seed=1)
    assert (p1 == p2).all() and (d1 == d2).all()
    lab = np.asarray(styles)
    assert (lab[p1] == "a").all() and (lab[d1] != "a").all() and d1.shape == (50, 40)
    assert all(len(set(row)) == 40 for row in d1)  # no distractor twice in a trial
    _, small = sample_trials(styles, "a", 3, 400)
    assert small.shape == (3, 60)  # fewer than asked: every other-style item, no failure


def test_recall_on_a_hand_built_ranking_and_ties_count_against():
    scores = np.array([0.9, 0.5, 0.8, 0.95, 0.1])
    r = ranks(scores, np.array([0, 1, 4]), np.array([[1, 2, 3], [2, 3, 4], [0, 1, 2]]))
    assert r.tolist() == [2, 3, 4]
    assert recall_at(r, (1, 2, 3, 4)) == {1: 0.0, 2: 1 / 3, 3: 2 / 3, 4: 1.0}
    flat = np.zeros(5)
    assert ranks(flat, np.array([0]), np.array([[1, 2]])).tolist() == [3]


def test_a_perfect_scorer_gets_recall_one_and_the_table_renders():
    styles = ["a", "b", "c"] * 20
    lab = np.asarray(styles)
    scores = {s: (lab == s).astype(float) for s in "abc"}
    res = score_style_table(scores, styles, 30, 400, durations=np.linspace(1, 5, 60))
    assert res["mean"][1] == 1.0 and res["distractors"] == 40
    assert sum(v["n"] for v in res["duration"].values()) == 90
    md = markdown_table({"train": res, "chance": score_style_table({s: np.zeros(60) for s in "abc"}, styles, 30)})
    assert md[-1].startswith("| **mean** | 1.000") and "0.000" in md[-1]
