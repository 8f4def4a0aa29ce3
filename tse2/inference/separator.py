"""The separator runtime: a trained stage-5 model as ``separator(waveform) -> (num_spk, N)``.

Long recordings are separated in overlapping chunks (:meth:`Separator.chunked`), so memory is
bounded by the chunk, not by the recording: each chunk's outputs are brought to their level in
the chunk (the projection onto it), put in the order of the previous chunk's by the correlation
over the overlap, and cross-faded into place.  The stitching is a few array operations written
here: ESPnet's enhancement inference (``espnet2.bin.enh_inference``) segments too, but loads its
model through the unpickling loader this runtime avoids and reads whole files from a data dir.
"""

from __future__ import annotations

import itertools
import logging
import sys
from pathlib import Path
from typing import Optional

import numpy as np

from tse2.inference.common import Runtime
from tse2.release import RELEASED_CHECKPOINT
from tse2.utils.audio import check_rate, model_rate

log = logging.getLogger("tse2.separator")


class Separator(Runtime):
    """Callable ``separator(waveform) -> (num_spk, N)`` float32, from an ESPnet enhancement config + checkpoint.

    A separator trained with a scale-invariant loss gives each output an arbitrary gain.  Outputs
    are therefore scaled to their projection onto the mixture (``g_k = <x, s_k> / <s_k, s_k>``), so
    that they come out at the level they have in the recording: the loudness cue stays measurable
    and the files play at a sensible volume.  SI-SDR is unchanged by it.
    """

    # a released separator installed by stage 5 (training removes it), a pack's, then ESPnet's best
    CHECKPOINTS = (RELEASED_CHECKPOINT, "model.pth", "valid.si_snr_loss.best.pth", "valid.loss.best.pth",
                   "valid.loss.ave.pth", "latest.pth")
    WHAT, STAGE = "trained separator", 5

    # chunking of long inputs, in seconds: inputs up to CHUNK_S go through the model in one pass
    CHUNK_S, OVERLAP_S = 12.0, 2.0

    def __init__(self, config: Path, model_file: Path, device: str = "cpu") -> None:
        from tse2.models.enh_build import load_model  # not the ESPnet task: 8 s less to start

        self.model, args = load_model(config, model_file, device)
        self.model.eval()
        self.fs = model_rate(args, str(config))
        self.device, self.model_file = device, Path(model_file)

    def __call__(self, wav: np.ndarray, fs: Optional[int] = None) -> np.ndarray:
        """(num_spk, N) float32 outputs of a (N,) waveform at the model's rate (``fs``, when given,
        must be it: :func:`tse2.utils.audio.to_model_input` brings other rates to it)."""
        fs = self.fs if fs is None else fs
        check_rate(fs, self.fs, "separator input")
        chunk = int(round(self.CHUNK_S * fs))
        if len(wav) <= chunk:
            return self.one_pass(wav)
        return self.chunked(wav, chunk, int(round(self.OVERLAP_S * fs)))

    def one_pass(self, wav: np.ndarray) -> np.ndarray:
        est = run_separator(self.model, wav, self.device).astype(np.float64)
        mix = np.asarray(wav, dtype=np.float64)
        gains = est @ mix / np.maximum(np.sum(est ** 2, axis=1), 1e-12)
        return (est * gains[:, None]).astype(np.float32)

    def chunked(self, wav: np.ndarray, chunk: int, overlap: int, progress: Optional[bool] = None) -> np.ndarray:
        """Separates ``wav`` in chunks of ``chunk`` samples that overlap by ``overlap`` (see the
        module docstring); a progress bar on a terminal (``progress``: force it on or off)."""
        if not 0 < overlap < chunk:
            raise ValueError(f"chunking needs 0 < overlap < chunk, got overlap {overlap} and chunk {chunk} samples")
        n, hop = len(wav), chunk - overlap
        starts = list(range(0, max(n - overlap, 1), hop))
        out: Optional[np.ndarray] = None
        bar = None
        if progress if progress is not None else (sys.stderr.isatty() and len(starts) > 2):
            from tqdm import tqdm

            bar = tqdm(total=len(starts), desc="separating", unit="chunk")
        for start in starts:
            end = min(start + chunk, n)
            est = self.one_pass(wav[start:end])
            if out is None:
                out = np.zeros((est.shape[0], n), dtype=np.float32)
                out[:, start:end] = est
            else:
                o = min(overlap, end - start)
                prev = out[:, start:start + o]
                est = est[list(best_order(prev, est[:, :o]))]
                fade = np.linspace(0.0, 1.0, o, dtype=np.float32)
                out[:, start:start + o] = prev * (1.0 - fade) + est[:, :o] * fade
                out[:, start + o:end] = est[:, o:]
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        log.debug("separated %d samples in %d chunks of %d (overlap %d)", n, len(starts), chunk, overlap)
        return out


def best_order(prev: np.ndarray, new: np.ndarray):
    """The order of ``new``'s rows that best continues ``prev``'s (sum of normalised correlations
    over the overlap; rows of silence correlate with nothing and follow the others)."""
    def ncc(a: np.ndarray, b: np.ndarray) -> float:
        den = float(np.linalg.norm(a) * np.linalg.norm(b))
        return float(a @ b) / den if den > 0 else 0.0

    k = prev.shape[0]
    return max(itertools.permutations(range(k)), key=lambda p: sum(ncc(prev[i], new[p[i]]) for i in range(k)))


def run_separator(model, wav: np.ndarray, device: str = "cpu") -> np.ndarray:
    """The raw outputs (num_spk, N) of an ESPnet enhancement model (encoder, separator, decoder) on
    one waveform, without gradients; their gains are whatever the model gives."""
    import torch

    with torch.no_grad():
        x = torch.as_tensor(wav, dtype=torch.float32, device=device)[None]
        lengths = torch.tensor([x.shape[1]], device=device)
        feats, flens = model.encoder(x, lengths)
        masked, flens, _ = model.separator(feats, flens, {})
        outs = [model.decoder(m, lengths)[0] for m in masked]
    return np.stack([o[0, : x.shape[1]].cpu().numpy() for o in outs])
