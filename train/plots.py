"""Pictures of a run: learning curves and a validation sample grid, written as PNG files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from colorize.color import gray_image  # noqa: E402


def plot_curves(log_path: Path, out_path: Path) -> None:
    """Training losses (smoothed) and validation PSNR next to the gray baseline's."""
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    train = [r for r in records if "val" not in r]
    val = [r for r in records if "val" in r]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key in sorted({k for r in train for k in r if k.startswith("loss")}):
        steps = [r["step"] for r in train if key in r]
        values = np.array([r[key] for r in train if key in r])
        window = max(1, len(values) // 50)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        left.plot(steps[window - 1 :], smooth, label=key)
    left.set(xlabel="step", ylabel="loss", title="training losses", yscale="log")
    left.legend()
    if val:
        steps = [r["step"] for r in val]
        right.plot(steps, [r["val"]["model"]["psnr"] for r in val], "o-", label="model")
        right.plot(steps, [r["val"]["gray"]["psnr"] for r in val], "--", label="gray baseline")
    right.set(xlabel="step", ylabel="PSNR (dB)", title="validation")
    right.legend()
    figure.tight_layout()
    figure.savefig(out_path, dpi=90)
    plt.close(figure)


def sample_grid(truths: Sequence[np.ndarray], predictions: Sequence[np.ndarray], out_path: Path, height: int = 160) -> None:
    """One row per photo: gray input | prediction | ground truth, each ``height`` px tall."""
    rows = []
    for truth, prediction in zip(truths, predictions):
        width = max(1, round(truth.shape[1] * height / truth.shape[0]))
        tiles = [np.asarray(Image.fromarray(image).resize((width, height))) for image in (gray_image(truth), prediction, truth)]
        rows.append(np.concatenate(tiles, axis=1))
    widest = max(row.shape[1] for row in rows)
    rows = [np.pad(row, ((0, 0), (0, widest - row.shape[1]), (0, 0)), constant_values=255) for row in rows]
    Image.fromarray(np.concatenate(rows, axis=0)).save(out_path)
