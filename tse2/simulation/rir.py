"""Rooms and room impulse responses.

Room and source sampling follow the paper (SPEC "Mixture simulation"): shoebox length and width
U(9, 11) m, height U(2.6, 3.5) m, RT60 U(0.3, 0.6) s, one microphone at the room centre, sources at
a horizontal distance U(0.3, 1.5) m in a uniformly random direction and at a height U(1.6, 1.9) m.

Backends (``--rir_backend``):

- ``ism_diffuse`` (CPU default): the scheme gpuRIR uses, on the CPU.  Early reflections by the
  image-source method of pyroomacoustics, with wall absorption from Sabine's formula, up to the
  time the energy has decayed by ``diffuse_db`` (15 dB); after it a diffuse tail, Gaussian noise
  under an exponential envelope that decays 60 dB per RT60, its level matched to the ISM energy
  just before the switch.  Why not pyroomacoustics alone: its full-order ISM with the inverse-
  Sabine absorption overshoots the target (T30 0.88 s for RT60 0.6 s, measured here) and costs
  0.16 s per RIR at that order; the hybrid meets the target and costs a few milliseconds.
- ``gpurir``: gpuRIR on a GPU (``tools/installers/install_gpurir.sh``), the paper's simulator,
  with the same early/diffuse split.

Every random draw comes from the generator passed in, so an RIR is a pure function of its seed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, Tuple

import numpy as np

from tse2.utils.audio import DEFAULT_FS

SPEED_OF_SOUND = 343.0
RIR_BACKENDS = ("ism_diffuse", "gpurir")


@dataclass(frozen=True)
class RoomSpec:
    size: Tuple[float, float, float]  # length, width, height in m
    rt60: float  # s
    mic: Tuple[float, float, float]
    sources: Tuple[Tuple[float, float, float], ...]
    distances: Tuple[float, ...]  # horizontal source-microphone distances in m

    def to_dict(self) -> Dict:
        return asdict(self)


def sample_room(
    rng: np.random.Generator,
    n_sources: int = 3,
    length: Tuple[float, float] = (9.0, 11.0),
    height: Tuple[float, float] = (2.6, 3.5),
    rt60: Tuple[float, float] = (0.3, 0.6),
    distance: Tuple[float, float] = (0.3, 1.5),
    source_height: Tuple[float, float] = (1.6, 1.9),
) -> RoomSpec:
    """Draws a room, its RT60 and ``n_sources`` source positions around the central microphone."""
    size = (float(rng.uniform(*length)), float(rng.uniform(*length)), float(rng.uniform(*height)))
    mic = (size[0] / 2, size[1] / 2, size[2] / 2)
    sources, dists = [], []
    for _ in range(n_sources):
        d = float(rng.uniform(*distance))
        azimuth = float(rng.uniform(0, 2 * np.pi))
        z = float(rng.uniform(*source_height))
        sources.append((mic[0] + d * math.cos(azimuth), mic[1] + d * math.sin(azimuth), min(z, size[2] - 0.1)))
        dists.append(d)
    return RoomSpec(size=size, rt60=float(rng.uniform(*rt60)), mic=mic, sources=tuple(sources), distances=tuple(dists))


def sabine_absorption(size: Tuple[float, float, float], rt60: float) -> float:
    """Energy absorption coefficient of all walls that gives ``rt60`` by Sabine's formula."""
    lx, ly, lz = size
    volume, surface = lx * ly * lz, 2 * (lx * ly + lx * lz + ly * lz)
    alpha = 24 * math.log(10) * volume / (SPEED_OF_SOUND * surface * rt60)
    if not 0 < alpha < 1:
        raise ValueError(f"RT60 {rt60} s is not reachable in a {lx:.1f}x{ly:.1f}x{lz:.1f} m room")
    return alpha


def diffuse_tail(
    early: np.ndarray, fs: int, rt60: float, t_switch: float, t_end: float, rng: np.random.Generator
) -> np.ndarray:
    """Appends an exponentially decaying noise tail to ``early`` (cut at ``t_switch``)."""
    n_switch, n_end = int(t_switch * fs), int(t_end * fs)
    out = np.zeros(n_end, dtype=np.float64)
    out[: min(n_switch, len(early))] = early[:n_switch]
    decay = 3.0 * math.log(10) / rt60  # amplitude: exp(-decay t) falls 60 dB per RT60
    # Match the tail's power to the ISM power over the 20 ms before the switch, corrected to t_switch.
    win = max(1, int(0.02 * fs))
    seg = early[max(0, n_switch - win): n_switch]
    t_mid = (n_switch - len(seg) / 2) / fs
    power = float(np.mean(seg ** 2)) * math.exp(-2 * decay * (t_switch - t_mid)) if len(seg) else 0.0
    t = np.arange(n_end - n_switch) / fs
    out[n_switch:] = rng.standard_normal(n_end - n_switch) * math.sqrt(power) * np.exp(-decay * t)
    return out


class IsmDiffuseRIR:
    """pyroomacoustics image sources for the early part + a diffuse tail (see module doc)."""

    name = "ism_diffuse"

    def __init__(self, fs: int = DEFAULT_FS, diffuse_db: float = 15.0, end_db: float = 60.0) -> None:
        self.fs, self.diffuse_db, self.end_db = fs, diffuse_db, end_db

    def __call__(self, room: RoomSpec, rng: np.random.Generator) -> np.ndarray:
        import pyroomacoustics as pra

        alpha = sabine_absorption(room.size, room.rt60)
        t_switch = room.rt60 * self.diffuse_db / 60.0
        t_end = room.rt60 * self.end_db / 60.0 + max(room.distances) / SPEED_OF_SOUND
        order = int(math.ceil(SPEED_OF_SOUND * t_switch / min(room.size))) + 1
        sim = pra.ShoeBox(list(room.size), fs=self.fs, materials=pra.Material(alpha), max_order=order,
                          air_absorption=False)
        for src in room.sources:
            sim.add_source(list(src))
        sim.add_microphone(list(room.mic))
        sim.compute_rir()
        # pyroomacoustics delays every RIR by its fractional-delay filter's half length: remove it
        # so that the direct path arrives at distance / c.
        lag = pra.constants.get("frac_delay_length") // 2
        rirs = [diffuse_tail(np.asarray(sim.rir[0][k][lag:], dtype=np.float64), self.fs, room.rt60,
                             t_switch, t_end, rng) for k in range(len(room.sources))]
        return np.stack(rirs).astype(np.float32)


class GpuRIR:
    """gpuRIR (CUDA) with the same image-source / diffuse split."""

    name = "gpurir"

    def __init__(self, fs: int = DEFAULT_FS, diffuse_db: float = 15.0, end_db: float = 60.0) -> None:
        try:
            import gpuRIR  # noqa: F401
        except ImportError:
            raise RuntimeError("gpuRIR is not installed (tools/installers/install_gpurir.sh; needs CUDA); "
                               "use --rir_backend ism_diffuse") from None
        self.fs, self.diffuse_db, self.end_db = fs, diffuse_db, end_db

    def __call__(self, room: RoomSpec, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - GPU only
        import gpuRIR

        beta = gpuRIR.beta_SabineEstimation(list(room.size), room.rt60)
        t_diff = gpuRIR.att2t_SabineEstimator(self.diffuse_db, room.rt60)
        t_max = gpuRIR.att2t_SabineEstimator(self.end_db, room.rt60)
        nb_img = gpuRIR.t2n(t_diff, list(room.size))
        rirs = gpuRIR.simulateRIR(list(room.size), beta, np.array(room.sources), np.array([room.mic]),
                                  nb_img, t_max, self.fs, Tdiff=t_diff)
        return np.asarray(rirs[:, 0, :], dtype=np.float32)


def make_rir_backend(name: str, fs: int = DEFAULT_FS):
    if name == "ism_diffuse":
        return IsmDiffuseRIR(fs)
    if name == "gpurir":
        return GpuRIR(fs)
    raise ValueError(f"unknown RIR backend {name!r}; choose one of {RIR_BACKENDS}")


def measure_rt60(rir: np.ndarray, fs: int, decay_db: float = 30.0) -> float:
    """RT60 from the Schroeder decay curve (T30 by default), via pyroomacoustics."""
    import pyroomacoustics as pra

    return float(pra.experimental.measure_rt60(np.asarray(rir, dtype=np.float64), fs=fs, decay_db=decay_db))
