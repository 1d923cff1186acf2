"""What hints are worth and what they cost: PSNR against the number of hints, and speed.

    python bench/guided.py                      # -> bench/results/guided.{md,json}, assets/hints-psnr.png
    python bench/guided.py --limit 50 --counts 0 10 --repeats 1

Quality: every guided model is given N true-colour patches per validation photo (the same
seeded patches for every model, ``colorize.evaluate --hints N``) for N = 0, 1, 2, 5, 10, 20,
50, and the mean PSNR is plotted beside the gray baseline. Speed: one 1024x768 photo end to
end (decode, hints, colorize, encode) with 10 painted points, median after a warm-up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from colorize import colorize_with_details, has_weights, keep_freed_memory  # noqa: E402
from colorize.evaluate import evaluate_photos, load_eval_photos  # noqa: E402
from colorize.hints import Point  # noqa: E402
from colorize.zoo import list_guided_models  # noqa: E402

from report import write_report  # noqa: E402
from speed import median_seconds, photo_jpeg  # noqa: E402


COUNTS = (0, 1, 2, 5, 10, 20, 50)
SPEED_POINTS = [Point(100 + 80 * i, 100 + 55 * i, (40 + 20 * i, 200 - 15 * i, 90)) for i in range(10)]


def psnr_curve(models: list[str], photos, counts: list[int], seed: int) -> dict:
    curve = {"gray": None, "models": {model: {} for model in models}}
    for count in counts:
        for model in models:
            result = evaluate_photos(model, photos, hints=count, seed=seed)[0]
            curve["gray"] = result.gray.psnr
            curve["models"][model][count] = {"psnr": result.model.psnr, "ssim": result.model.ssim,
                                             "ciede2000": result.model.ciede2000}
            print(f"{model} hints={count}: {result.model.psnr:.2f} dB (gray {result.gray.psnr:.2f})", file=sys.stderr)
    return curve


def guided_seconds(model: str, repeats: int) -> float:
    jpeg = photo_jpeg(1024, 768)

    def run() -> None:
        result = colorize_with_details(jpeg, model, hints=SPEED_POINTS).colorized
        Image.fromarray(result).save(Path("/dev/null"), format="PNG", compress_level=1)

    return median_seconds(run, repeats)


def plot(curve: dict, images: int, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for model, points in curve["models"].items():
        counts = sorted(points, key=int)
        axes.plot([int(c) for c in counts], [points[c]["psnr"] for c in counts], marker="o", label=model)
    axes.axhline(curve["gray"], color="gray", linestyle="--", label="gray baseline (no colour)")
    axes.set_xscale("symlog", linthresh=1)
    counts = sorted({int(c) for points in curve["models"].values() for c in points})
    axes.set_xticks(counts, [str(c) for c in counts])
    axes.set_xlim(-0.2, counts[-1] * 1.15)
    axes.set_xlabel("true-colour hints per photo")
    axes.set_ylabel("PSNR (dB), higher is better")
    axes.set_title(f"What a few hints are worth ({images} validation photos)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def markdown(results: dict) -> str:
    curve, counts = results["curve"], results["counts"]
    lines = [f"{results['images']} photos of {results['folder']} (short side {results['size']} px), "
             f"{torch.get_num_threads()} threads; PSNR dB with N true-colour hints (gray baseline {curve['gray']:.2f} dB)", "",
             "| model | " + " | ".join(f"N={count}" for count in counts) + " | 1024x768 with 10 points (s) |",
             "|---" * (len(counts) + 2) + "|"]
    for model, points in curve["models"].items():
        lines.append(f"| {model} | " + " | ".join(f"{points[count]['psnr']:.2f}" for count in counts)
                     + f" | {results['seconds_1024x768'][model]:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--val", default=str(ROOT.parent / "shared/data/val"))
    parser.add_argument("--models", nargs="*", help="default: every guided model with weights")
    parser.add_argument("--counts", nargs="*", type=int, default=list(COUNTS))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--limit", type=int, default=0, help="first N val photos only (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/guided")
    parser.add_argument("--plot", type=Path, default=ROOT / "assets/hints-psnr.png")
    args = parser.parse_args(argv)
    keep_freed_memory()
    models = args.models or [name for name in list_guided_models() if has_weights(name)]
    photos = load_eval_photos(args.val, args.size, args.limit)
    results = {"folder": args.val, "size": args.size, "images": len(photos), "seed": args.seed, "counts": args.counts,
               "curve": psnr_curve(models, photos, args.counts, args.seed),
               "seconds_1024x768": {model: guided_seconds(model, args.repeats) for model in models}}
    table = markdown(results)
    plot(results["curve"], len(photos), args.plot)
    write_report(args.out, results, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
