"""The evaluation report: every automatic model on the validation set, and two picture grids.

    python bench/quality.py          # -> bench/results/quality.{md,json}, assets/comparison.png, assets/bw-photos.png,
                                     #    assets/contact-val.jpg, assets/contact-bw.jpg

The numbers are ``python -m colorize.evaluate`` over ``../shared/data/val`` for every model
with weights, the gray baseline first: that is the number to beat. The figures show what
the numbers cannot: a grid of validation photos (rows) by gray / each model / ground truth
(columns), and real old black-and-white photos from ``../shared/data/bw`` by each model
(no ground truth there; judge by eye). The contact sheets are larger and narrower: the
default model beside the old ResNet-18 ``unet`` on more photos, chosen for grass, sky,
water and skin and taken from the non-ImageNet sources (the default's encoder saw ImageNet).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from colorize import colorize_batch, has_weights, keep_freed_memory, list_models  # noqa: E402
from colorize.color import gray_image  # noqa: E402
from colorize.evaluate import eval_photo_paths, evaluate_photos, load_eval_photos  # noqa: E402
from colorize.io import load_image, resize_short_side  # noqa: E402
from colorize.zoo import DEFAULT_MODEL  # noqa: E402

from report import write_report  # noqa: E402


GRID_SIDE = 160  # short side of each picture in the figures
CONTACT_VAL = ["bsds500_00020", "bsds500_00007", "bsds500_00000", "bsds500_00025", "camsample_00002",
               "ccp_00010", "ccp_00050", "camvid_00003", "dreambooth_00002", "clothing_00027"]
CONTACT_BW = [0, 3, 7, 12, 15, 22, 31, 40]


def evaluate_all(models: list[str], photos: list[np.ndarray]) -> dict:
    reports = {}
    for model in models:
        reports[model] = evaluate_photos(model, photos)[0]
        print(f"{model}: {reports[model].model.psnr:.2f} dB", file=sys.stderr)
    first = next(iter(reports.values()))
    return {"gray_baseline": first.to_dict()["gray"], "target_colourfulness": first.target_colourfulness,
            "models": {name: report.to_dict()["model"] for name, report in reports.items()}}


def picture_grid(rows: list[list[np.ndarray]], titles: list[str], path: Path) -> None:
    """Save a grid of equally sized RGB pictures with a title over each column."""
    height, width = rows[0][0].shape[:2]
    scale = 1.6 / 100
    figure, axes = plt.subplots(len(rows), len(titles), figsize=(len(titles) * width * scale, len(rows) * height * scale + 0.4),
                                dpi=100, squeeze=False)
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            axes[r][c].imshow(picture)
            axes[r][c].set_axis_off()
            if r == 0:
                axes[r][c].set_title(titles[c], fontsize=9)
    figure.tight_layout(pad=0.2)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def centre_crop(photo: np.ndarray, side: int) -> np.ndarray:
    """A square, ``side``-px centre crop (photos of any aspect line up in a grid)."""
    photo = resize_short_side(photo, side)
    top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
    return photo[top : top + side, left : left + side]


def comparison_rows(models: list[str], photos: list[np.ndarray], with_truth: bool) -> list[list[np.ndarray]]:
    colorized = {model: [result.colorized for result in colorize_batch(photos, model)] for model in models}
    rows = []
    for i, photo in enumerate(photos):
        row = [gray_image(photo), *(colorized[model][i] for model in models)] + ([photo] if with_truth else [])
        rows.append([centre_crop(picture, GRID_SIDE) for picture in row])
    return rows


def markdown(results: dict) -> str:
    truth = results["target_colourfulness"]
    lines = [f"{results['images']} photos of {results['folder']}, short side {results['size']} px, "
             f"{results['threads']} threads (`python bench/quality.py`)", "",
             "| model | PSNR dB | SSIM | colourfulness (truth) | CIEDE2000 | AuC | green recall | blue recall |",
             "|---|---|---|---|---|---|---|---|"]
    for name, scores in {"gray baseline": results["gray_baseline"], **results["models"]}.items():
        lines.append(f"| {name} | {scores['psnr']:.2f} | {scores['ssim']:.4f} | {scores['colourfulness']:.1f} ({truth:.1f}) "
                     f"| {scores['ciede2000']:.2f} | {scores['auc']:.4f} | {scores['green_recall']:.2f} | {scores['blue_recall']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--val", default=str(ROOT.parent / "shared/data/val"))
    parser.add_argument("--bw", default=str(ROOT.parent / "shared/data/bw"))
    parser.add_argument("--models", nargs="*", help="default: every automatic model with weights")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--limit", type=int, default=0, help="first N val photos only (0 = all)")
    parser.add_argument("--rows", nargs="*", type=int, default=[3, 21, 57, 118, 240], help="val photos in the figure")
    parser.add_argument("--bw-rows", nargs="*", type=int, default=[0, 7, 15, 31])
    parser.add_argument("--contact-models", nargs="*", default=[DEFAULT_MODEL, "unet"], help="columns of the contact sheets")
    parser.add_argument("--contact-val", nargs="*", default=CONTACT_VAL, help="val photos (file stems) in the contact sheet")
    parser.add_argument("--contact-bw", nargs="*", type=int, default=CONTACT_BW, help="old photos in the contact sheet")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/quality")
    parser.add_argument("--figures", type=Path, default=ROOT / "assets")
    args = parser.parse_args(argv)
    keep_freed_memory()
    models = args.models or [name for name in list_models() if has_weights(name)]
    photos = load_eval_photos(args.val, args.size, args.limit)
    results = {"folder": args.val, "size": args.size, "images": len(photos), "threads": torch.get_num_threads(),
               **evaluate_all(models, photos)}
    table = markdown(results)

    chosen = [photos[i % len(photos)] for i in args.rows]
    picture_grid(comparison_rows(models, chosen, True), ["gray input", *models, "ground truth"],
                 args.figures / "comparison.png")
    old = load_eval_photos(args.bw, args.size)
    if old:
        chosen = [old[i % len(old)] for i in args.bw_rows]
        picture_grid(comparison_rows(models, chosen, False), ["old photo", *models], args.figures / "bw-photos.png")
    write_report(args.out, results, table)
    contact_sheets(args, list(dict.fromkeys(args.contact_models)))
    return 0


def contact_sheets(args: argparse.Namespace, models: list[str]) -> None:
    """gray / the default / the old unet / the truth, on val photos and on real old photos."""
    by_name = {path.stem: path for path in eval_photo_paths(args.val)}
    chosen = [resize_short_side(load_image(by_name[name]), args.size) for name in args.contact_val if name in by_name]
    if chosen:
        picture_grid(comparison_rows(models, chosen, True), ["gray input", *models, "ground truth"], args.figures / "contact-val.jpg")
    old = load_eval_photos(args.bw, args.size)
    if old:
        chosen = [old[i % len(old)] for i in args.contact_bw]
        picture_grid(comparison_rows(models, chosen, False), ["old photo", *models], args.figures / "contact-bw.jpg")


if __name__ == "__main__":
    sys.exit(main())
