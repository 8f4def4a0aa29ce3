"""Are the corpus's styles separable at all? A logistic regression on plain acoustic features.

Features per utterance (39): level (the 8 level/timing statistics of
``tse2.models.acoustic.level_stats``), prosody (the 5 of ``prosody_stats``: F0 and rate) and
the mean and standard deviation of 13 MFCCs (librosa). The classifier is scikit-learn's
logistic regression on standardised features, trained on one split and tested on another
(speaker-disjoint), so the figure is a floor of what a model could hear.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from tse2.utils.audio import DEFAULT_FS


def features(wav: np.ndarray, fs: int = DEFAULT_FS) -> np.ndarray:
    import librosa
    import torch

    from tse2.models.acoustic import level_stats, prosody_stats

    x = torch.as_tensor(wav, dtype=torch.float32)[None]
    n = torch.tensor([x.shape[1]])
    level = level_stats(x, n, fs=fs)[0].numpy()
    prosody = np.asarray(prosody_stats(np.asarray(wav), fs), dtype=np.float32).reshape(-1)
    mfcc = librosa.feature.mfcc(y=np.asarray(wav, np.float32), sr=fs, n_mfcc=13)
    return np.concatenate([level, prosody, mfcc.mean(1), mfcc.std(1)]).astype(np.float32)


def separability(train_x: np.ndarray, train_y: Sequence[str], test_x: np.ndarray, test_y: Sequence[str]) -> Dict:
    """Accuracy, per-style accuracy and the confusion counts (rows: true, columns: predicted)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    clf.fit(train_x, list(train_y))
    pred = clf.predict(test_x)
    styles = sorted(set(train_y) | set(test_y))
    conf = {t: {p: 0 for p in styles} for t in styles}
    for t, p in zip(test_y, pred):
        conf[t][p] += 1
    per = {t: conf[t][t] / max(1, sum(conf[t].values())) for t in styles}
    return {"accuracy": float(np.mean(np.asarray(pred) == np.asarray(test_y))), "per_style": per, "confusion": conf}


def confusion_markdown(res: Dict) -> List[str]:
    styles = list(res["confusion"])
    short = [s[:5] for s in styles]
    lines = [f"Logistic regression on 39 acoustic features: accuracy **{res['accuracy']:.3f}**.", "",
             "| true \\ predicted | " + " | ".join(short) + " | acc |", "|---|" + "---|" * (len(styles) + 1)]
    for t in styles:
        lines.append(f"| {t} | " + " | ".join(str(res["confusion"][t][p]) for p in styles)
                     + f" | {res['per_style'][t]:.2f} |")
    return lines
