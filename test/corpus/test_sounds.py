"""The embedded sound bank: every category's clips read from the Debian packages, clip-disjoint
splits, OpenSFX's catalogue, and a missing package named in the error."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tse2.corpus.sounds import (CATEGORIES, PACKAGE_ROOTS, SoundBankError, categories, load_clip, read_opensfx,
                                split_of, write_bank)
from tse2.utils.datadir import read_map

INSTALLED = all((Path("/") / r).is_dir() for r in PACKAGE_ROOTS.values())
needs_packages = pytest.mark.skipif(not INSTALLED and not os.environ.get("CI"),
                                    reason="the sound packages are not installed (make install)")


def test_the_table_has_ten_named_categories_with_clip_disjoint_splits():
    seen = [c for c in CATEGORIES if not c.unseen]
    assert len(seen) >= 10 and any(c.unseen for c in CATEGORIES)
    words = [w for c in CATEGORIES for w in c.words + c.held_out]
    assert len(words) == len(set(words)), "a word names two categories"
    for c in seen:
        splits = [split_of(c, clip) for clip in c.clips]
        assert splits.count("test") == 1 and splits.count("valid") == 1 and splits.count("train") >= 1, c.name
        assert len(set(c.clips)) == len(c.clips)
    with pytest.raises(ValueError, match="unknown sound categories"):
        categories(["dog"])


def _cat(samples):
    head = b""
    body = b""
    offset = 8 * len(samples)
    for name, data in samples:
        rec = bytes([len(name) + 1]) + name.encode() + b"\0" + data
        head += struct.pack("<II", offset + len(body), len(rec))
        body += rec
    return head + body


def test_opensfx_catalogue_is_read(tmp_path):
    buf = io.BytesIO()
    sf.write(buf, np.zeros(800, dtype=np.float32), 8000, format="WAV")
    path = tmp_path / "opensfx.cat"
    path.write_bytes(_cat([("Cow", buf.getvalue()), ("Sheep", buf.getvalue())]))
    out = read_opensfx(path)
    assert [n for n, _ in out] == ["Cow", "Sheep"] and sf.info(io.BytesIO(out[1][1])).frames == 800
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(SoundBankError, match="outside the file"):
        read_opensfx(path)


def test_a_missing_package_is_named(tmp_path):
    with pytest.raises(SoundBankError, match="install the Debian package lincity-ng-data"):
        load_clip(CATEGORIES[0].clips[0], 16000, root=str(tmp_path))


@needs_packages
def test_the_real_bank_reads_every_clip_into_kaldi_dirs(tmp_path):
    counts = write_bank(str(tmp_path / "wav"), str(tmp_path / "data"), 16000)
    assert counts["train"] > 50 and counts["test"] > 14 and counts["unseen"] >= 9
    cats = {}
    for split in ("train", "valid", "test", "unseen"):
        d = tmp_path / "data" / f"sounds_{split}"
        cat, src = read_map(d / "utt2category"), read_map(d / "utt2source")
        assert set(cat) == set(read_map(d / "wav.scp")) == set(read_map(d / "utt2spk"))
        cats[split] = {(cat[u], src[u]) for u in cat}
        for u, p in list(read_map(d / "wav.scp").items())[:5]:
            x, fs = sf.read(p)
            assert fs == 16000 and x.ndim == 1 and 0.5 < len(x) / fs <= 6.5 and np.abs(x).max() > 0.1, u
    clips = {s: {c for _, c in v} for s, v in cats.items()}
    assert not (clips["train"] & clips["test"]) and not (clips["train"] & clips["valid"]) and not (clips["valid"] & clips["test"])
    assert {c for c, _ in cats["test"]} == {c.name.replace(" ", "_") for c in CATEGORIES if not c.unseen}
