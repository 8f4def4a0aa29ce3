"""The RIR bank: rooms and RIRs precomputed once per split, sampled by every mixture.

Entry k of a split is a pure function of (seed, split, k): a room with three sources (two speaker
positions and one enrollment position) and their RIRs, stored as ``<bank_dir>/room<k>.npz``
(``rirs`` float32 (3, T) and ``spec`` JSON), written atomically.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Dict, Iterable, Tuple

import numpy as np

from tse2.simulation.rir import RoomSpec, make_rir_backend, sample_room
from tse2.utils.fileio import atomic_path


def entry_path(bank_dir: Path, k: int) -> Path:
    return Path(bank_dir) / f"room{k:06d}.npz"


def make_entry(seed: int, split: str, k: int, backend) -> Tuple[RoomSpec, np.ndarray]:
    rng = np.random.default_rng([seed, zlib.crc32(f"{split}/room{k}".encode())])
    room = sample_room(rng, n_sources=3)
    return room, backend(room, rng)


def build_bank(bank_dir: Path, split: str, ids: Iterable[int], seed: int, backend_name: str, fs: int) -> int:
    """Writes the entries ``ids`` (every one: an existing file may come from other options); returns
    how many were made."""
    backend = make_rir_backend(backend_name, fs)
    made = 0
    for k in ids:
        path = entry_path(bank_dir, k)
        room, rirs = make_entry(seed, split, k, backend)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, rirs=rirs, spec=json.dumps(room.to_dict()), backend=backend_name)
        made += 1
    return made


class Bank:
    """Lazy reader: ``bank[k]`` → RIRs (3, T); ``bank.spec(k)`` → the room as a dict."""

    def __init__(self, bank_dir: Path) -> None:
        self.dir = Path(bank_dir)
        self._cache: Dict[int, Tuple[np.ndarray, Dict]] = {}

    def _load(self, k: int) -> Tuple[np.ndarray, Dict]:
        if k not in self._cache:
            path = entry_path(self.dir, k)
            if not path.is_file():
                raise FileNotFoundError(f"{path}: RIR bank entry {k} is missing (did a bank job fail?)")
            with np.load(path) as z:
                self._cache[k] = (z["rirs"], json.loads(str(z["spec"])))
        return self._cache[k]

    def __getitem__(self, k: int) -> np.ndarray:
        return self._load(k)[0]

    def spec(self, k: int) -> Dict:
        return self._load(k)[1]
