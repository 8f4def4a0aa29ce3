import json

import numpy as np
import pytest

from tse2.corpus.styles import STYLES
from tse2.cues.styles import StyleVocab


def test_every_style_has_disjoint_train_and_heldout_prompts():
    v = StyleVocab.load(list(STYLES))
    for s in STYLES:
        train, held = set(v.prompts(s, "train")), set(v.prompts(s, "heldout"))
        assert len(train) == 11 * 5 and len(held) == 4 * 2
        assert not train & held
        assert all("{}" not in p for p in train | held)
    r = np.random.default_rng(0)
    assert all(v.sample("sad", r) in v.prompts("sad") for _ in range(50))
    assert v.fixed("high-pitched") == "speech that is high pitched."


def test_vocab_json_and_errors(tmp_path):
    with pytest.raises(ValueError, match=r"no prompt phrases for styles \['grumpy'\]"):
        StyleVocab.load(["grumpy"])
    p = tmp_path / "v.json"
    p.write_text(json.dumps({"phrases": {"grumpy": {"train": ["grumbles"], "heldout": ["moans"]}}}))
    v = StyleVocab.load(["grumpy", "sad"], str(p))
    assert "someone grumbles." in v.prompts("grumpy")
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not a style vocabulary"):
        StyleVocab.load(["sad"], str(p))
    p.write_text(json.dumps({"templates": {"train": ["no slot"], "heldout": ["{}"]}}))
    with pytest.raises(ValueError, match="exactly one"):
        StyleVocab.load(["sad"], str(p))


def test_the_paper_styles_all_have_prompts():
    from tse2.corpus.expressive import PAPER_STYLES

    v = StyleVocab.load(list(PAPER_STYLES))
    assert v.fixed("whispered") == "speech that is whispered."
    assert all(len(v.prompts(s, "heldout")) == 8 for s in PAPER_STYLES)
