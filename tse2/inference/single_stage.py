"""The single-stage runtime: a trained text-conditioned extractor (paper IV-C baselines)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tse2.inference.common import Runtime


class SingleStageExtractor(Runtime):
    """A trained single-stage model: ``extractor(mixture, prompt) -> estimate`` (float, mixture's length)."""

    CHECKPOINTS = ("model.pth", "valid.si_sdr.best.pth", "valid.loss.best.pth", "valid.loss.ave.pth", "latest.pth")
    WHAT, STAGE = "trained single-stage baseline", 7

    def __init__(self, config: Path, model_file: Path, device: str = "cpu") -> None:
        import argparse

        from tse2.models.checkpoint import build_named, load_state, merged_lora_conf
        from tse2.models.tse_build import build_prompt_preprocess, build_tse  # not the ESPnet task: ~10 s less
        from tse2.utils.fileio import read_yaml_config

        # the config and the checkpoint are read as the other runtimes read theirs: YAML errors with
        # file:line, tensors only (no pickled code), every key matched (tse2.models.checkpoint)
        conf = read_yaml_config(config)
        lora_scale = merged_lora_conf(conf)  # the prompt encoder's LoRA merged: no peft at inference
        args = argparse.Namespace(**conf)
        self.model = build_named(build_tse, args, config, "single-stage extractor")
        load_state(self.model, model_file, config, device, lora_scale)
        self.model.to(device).eval()
        self.preprocess = build_prompt_preprocess(args, False)
        self.device, self.model_file = device, Path(model_file)

    def __call__(self, mixture: np.ndarray, prompt: str) -> np.ndarray:
        import torch

        ids = self.preprocess("x", {"prompt": prompt})["prompt"]
        with torch.no_grad():
            x = torch.as_tensor(mixture, dtype=torch.float32, device=self.device)[None]
            p = torch.as_tensor(ids, device=self.device)[None]
            est = self.model.extract(x, torch.tensor([x.shape[1]]), p, torch.tensor([p.shape[1]]))
        return est[0].cpu().numpy()
