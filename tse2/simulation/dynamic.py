"""Dynamic mixing: a fresh training mixture each time the trainer asks for one, by stage 3's rules.

A separator trained on the embedded recipe's 400 fixed mixtures learns them by heart long before
it generalises.  :class:`DynamicMixer` instead draws, for every training example, two utterances
of different training speakers, a room of the training RIR bank, the SIR U(−6, 6) dB, the target
and the overlap layout with :func:`tse2.simulation.mixing.draw_plan`, and renders them with
:func:`tse2.simulation.mixing.render_mixture`: the very code of stage 3, run with the settings
stage 3 recorded in the mixture dir (``simulation.json``: clean data dir, RIR bank, fs, max_len).

Determinism: example ``i`` of epoch ``e`` on rank ``r`` is a pure function of
``(seed, e, r, i)`` and the inputs (one ``numpy`` generator seeded by the four numbers draws
everything).  A rerun with the same seed sees the same stream whatever the number of data-loader
workers (each example depends on its index, not on which worker renders it), and DDP ranks see
disjoint streams.

A text-conditioned extractor (the single-stage baselines) gets the target and one of the
mixture's training prompts instead (:meth:`DynamicMixer.prompted_example`, stage 4's labels and
templates).

Crop (``chunk_length`` samples, 0 for whole mixtures): a window that contains the centre of the
two sources' overlap, so that both talkers speak in every example.  (A random crop of a 6 s
mixture whose sources overlap by 1 s often holds one talker only, and PIT SI-SNR against a silent
reference is noise.)  Mixtures shorter than the window are zero-padded at the end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from tse2.simulation.bank import Bank
from tse2.simulation.mixing import MixConfig, Mixture, MixturePlan, draw_plan, mixture_row, read_metadata, render_mixture
from tse2.utils.audio import read_audio
from tse2.utils.datadir import DataDirError, c_sort_key, read_map
from tse2.utils.fileio import read_jsonl

SIMULATION_FILE = "simulation.json"  # written by `tse2.bin.simulate_mixtures merge`


def read_simulation(mix_dir: Path) -> Dict:
    path = Path(mix_dir) / SIMULATION_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; dynamic mixing needs the stage-3 settings of this mixture dir "
                                "(run stage 3 again to write it)")
    sim = json.loads(path.read_text(encoding="utf-8"))
    missing = [k for k in ("data_dir", "bank_dir", "bank_size", "seed", "fs", "max_len") if k not in sim]
    if missing:
        raise DataDirError(f"{path}: lacks {', '.join(missing)}")
    return sim


class DynamicMixer:
    """Renders training mixtures on demand from the clean training set and its RIR bank.

    Args:
        mix_dir: the stage-3 mixture dir of the training set (its ``simulation.json`` names the
            clean data dir, the RIR bank and the options).
        seed: the stream's seed (the trainer's ``--seed``).
        chunk_length: samples per example (0: whole mixtures, up to max_len).
    """

    def __init__(self, mix_dir: Path, seed: int = 0, chunk_length: int = 0) -> None:
        if chunk_length < 0:
            raise ValueError(f"chunk_length must be >= 0 samples, got {chunk_length}")
        sim = read_simulation(mix_dir)
        self.seed, self.chunk_length = int(seed), int(chunk_length)
        self.cfg = MixConfig(fs=int(sim["fs"]), max_len=float(sim["max_len"]))
        self.num_fixed = int(sim.get("mixtures", 0))
        self.data_dir = data_dir = Path(sim["data_dir"])
        wavs = read_map(data_dir / "wav.scp")
        self.utt2spk = read_map(data_dir / "utt2spk")
        self.attrs = {r["utt"]: r for r in read_jsonl(data_dir / "attributes.jsonl", "run stage 2 first")}
        self.utts: List[str] = sorted((u for u in wavs if self.attrs.get(u, {}).get("speech_end") is not None),
                                      key=c_sort_key)
        self.spk2utts: Dict[str, List[str]] = {}
        for u in self.utts:
            self.spk2utts.setdefault(self.utt2spk[u], []).append(u)
        if len(self.spk2utts) < 2:
            raise DataDirError(f"{data_dir}: dynamic mixing needs at least two speakers with speech")
        # Everything is read once, before a data loader forks its workers (which then share it).
        self.audio = {u: read_audio(wavs[u], fs=self.cfg.fs)[0] for u in self.utts}
        bank = Bank(Path(sim["bank_dir"]))
        self.bank_size = int(sim["bank_size"])
        self.rirs = {k: bank[k] for k in range(self.bank_size)}
        self.rooms = {k: bank.spec(k) for k in range(self.bank_size)}
        self.tables = read_metadata(data_dir)

    def render(self, epoch: int, index: int, rank: int = 0) -> Tuple[MixturePlan, Mixture, np.random.Generator]:
        """The whole mixture of example (epoch, index, rank), its plan, and the generator that drew them."""
        rng = np.random.default_rng([self.seed, int(epoch), int(rank), int(index)])
        uid = f"dm-e{epoch:04d}-r{rank}-{index:08d}"
        plan = draw_plan(rng, uid, self.utts, self.utt2spk, self.spk2utts, self.attrs, self.bank_size, self.cfg)
        return plan, render_mixture(plan, self.audio, self.attrs, self.rirs, self.cfg, enrollment=False), rng

    def example(self, epoch: int, index: int, rank: int = 0) -> Tuple[str, Dict[str, np.ndarray]]:
        """(example id, {speech_mix, speech_ref1, speech_ref2}) as float32 arrays of equal length."""
        plan, m, rng = self.render(epoch, index, rank)
        signals = np.stack([m.mixture, m.sources[0], m.sources[1]])  # 3, N
        if self.chunk_length:
            signals = self._crop(signals, plan, rng)
        out = signals.astype(np.float32)
        return plan.mix, {"speech_mix": out[0], "speech_ref1": out[1], "speech_ref2": out[2]}

    def prompted_example(self, epoch: int, index: int, rank: int = 0) -> Tuple[str, Dict]:
        """(example id, {speech_mix, speech_ref1: the target, prompt}) for a text-conditioned extractor.

        The mixture's cues are labelled by stage 4's rules (:func:`tse2.cues.labels.label_mixture`)
        and one of its training prompts (a discriminative relative cue, "random" or "all", as
        :func:`tse2.cues.prompts.choose_cue_sets` lists them) is drawn and rendered from the
        templates; a mixture with no discriminative cue is replaced by the next index's."""
        from tse2.cues.labels import label_mixture
        from tse2.cues.prompts import choose_cue_sets, render

        for k in range(index, index + 1000):
            plan, m, rng = self.render(epoch, k, rank)
            row = mixture_row(m, plan, self.tables, self.attrs, self.rooms[plan.bank_id])
            choices = choose_cue_sets(label_mixture(row), rng, keep_similar=False)
            if choices:
                break
        else:
            raise RuntimeError(f"{self.data_dir}: no mixture with a discriminative cue in 1000 draws")
        _, cues = choices[int(rng.integers(len(choices)))]
        prompt = render(cues, "relative", rng)
        signals = np.stack([m.mixture, m.sources[plan.target - 1]])  # mixture, target
        if self.chunk_length:
            signals = self._crop(signals, plan, rng)
        out = signals.astype(np.float32)
        return plan.mix, {"speech_mix": out[0], "speech_ref1": out[1], "prompt": prompt}

    def _crop(self, signals: np.ndarray, plan, rng: np.random.Generator) -> np.ndarray:
        return crop_around_overlap(signals, self.chunk_length, ((plan.offset1, plan.len1), (plan.offset2, plan.len2)),
                                   rng)


def crop_around_overlap(signals: np.ndarray, size: int, spans, rng: np.random.Generator) -> np.ndarray:
    """A ``size``-sample window of ``signals`` (channels x samples) that contains the centre of the
    talkers' overlap; ``spans`` holds each talker's (start, length) in samples.  Shorter signals
    are zero-padded to ``size``."""
    n = signals.shape[1]
    if n <= size:
        return np.pad(signals, ((0, 0), (0, size - n)))
    (start1, len1), (start2, len2) = spans
    lo, hi = max(start1, start2), min(start1 + len1, start2 + len2)
    centre = (lo + hi) // 2
    first, last = max(0, centre - size), min(centre, n - size)
    start = int(rng.integers(first, last + 1))
    return signals[:, start: start + size]
