"""The separator runtime: a trained stage-5 model as ``separator(waveform) -> (num_spk, N)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tse2.inference.common import Runtime
from tse2.release import RELEASED_CHECKPOINT


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

    def __init__(self, config: Path, model_file: Path, device: str = "cpu") -> None:
        from tse2.tasks.enh import Tse2EnhancementTask

        self.model, _ = Tse2EnhancementTask.build_model_from_file(config, model_file, device)
        self.model.eval()
        self.device, self.model_file = device, Path(model_file)

    def __call__(self, wav: np.ndarray) -> np.ndarray:
        est = run_separator(self.model, wav, self.device).astype(np.float64)
        mix = np.asarray(wav, dtype=np.float64)
        gains = est @ mix / np.maximum(np.sum(est ** 2, axis=1), 1e-12)
        return (est * gains[:, None]).astype(np.float32)


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
