"""Score models on a folder of colour photos, always beside the gray baseline.

    python -m colorize.evaluate ../shared/data/val --model unet --size 256 --json
    python -m colorize.evaluate ../shared/data/val --model unet-guided --model levin --hints 10
    python -m colorize.evaluate ../shared/data/val --model effnet-unet --by-source

Photos are resized so their short side is ``--size`` (the val set already is 256), every
model colorizes them through the same pipeline users get, and the mean ``metrics.Report``
is printed. The gray baseline (a = b = 0) is the number a model has to beat: guessing no
colour at all already scores well on PSNR and SSIM. With ``--hints N`` guided models also
get N patches of each photo's true colour (``colorize.hints.sample_hints``, seeded), which
measures how much a few user hints are worth. ``--by-source`` also scores each source of
the photos apart (the file-name prefix, ``ccp_0001.jpg`` -> ``ccp``), and the ImageNet
sources against the rest: an ImageNet-pretrained encoder may have seen those photos.
``--saturation`` scores the colours a user gets with that colour strength, and ``--sample N``
a seeded random N photos of a big folder (a look at the training set without the hours).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .errors import ColorizeError
from .hints import sample_hints
from .io import find_images, load_image, resize_short_side
from .metrics import Report, mean_report, report
from .runtime import keep_freed_memory
from .pipeline import ModelRef, colorize_batch, working_lab, working_shape


IMAGENET_SOURCES = ("imnetsample", "imagen", "ilsvrcval")
"""File-name prefixes of ../shared/data photos taken from ImageNet (see its README)."""


def eval_photo_paths(folder: str | Path, limit: int = 0) -> list[Path]:
    """The photos of a folder, sorted and recursive; the first ``limit`` only if given."""
    paths = find_images([folder])
    return paths[:limit] if limit else paths


def load_eval_photos(folder: str | Path, size: int, limit: int = 0) -> list[np.ndarray]:
    """The colour photos of a folder (sorted, recursive), short side resized to ``size``."""
    return [resize_short_side(load_image(path), size) for path in eval_photo_paths(folder, limit)]


def source_of(path: Path) -> str:
    """The source a photo comes from, by its file-name prefix (``bsds500_0007.jpg`` -> ``bsds500``)."""
    prefix, separator, _ = path.stem.rpartition("_")
    return prefix if separator else "other"


HINT_REFERENCE_SIZE = 256
"""Hints are revealed at this working size whatever the model's, so every model gets the
same patches of the same photo (a model working smaller sees them resampled)."""


def revealed_hints(photos: Sequence[np.ndarray], count: int, seed: int) -> list[torch.Tensor]:
    """``count`` patches of true colour per photo (seeded), as hint maps."""
    generator = torch.Generator().manual_seed(seed)
    maps = []
    for photo in photos:
        truth = working_lab(photo, working_shape(*photo.shape[:2], HINT_REFERENCE_SIZE))[:, 1:]
        maps.append(sample_hints(truth, [count], generator))
    return maps


def photo_reports(
    model: ModelRef,
    photos: Sequence[np.ndarray],
    working_size: int | None = None,
    batch_size: int = 8,
    device: str = "cpu",
    hints: int = 0,
    seed: int = 0,
    saturation: float = 1.0,
) -> tuple[list[Report], list[np.ndarray]]:
    """One report per photo and the colorized photos themselves (for sample grids).

    ``hints`` > 0 gives a guided model that many true-colour patches per photo;
    ``saturation`` is the colour strength, as in ``colorize_batch``.
    """
    maps = revealed_hints(photos, hints, seed) if hints else None
    colorized: list[np.ndarray] = []
    for start in range(0, len(photos), batch_size):
        batch = slice(start, start + batch_size)
        results = colorize_batch(photos[batch], model, hints=maps[batch] if maps else None,
                                 working_size=working_size, saturation=saturation, device=device)
        colorized.extend(result.colorized for result in results)
    return [report(prediction, truth) for prediction, truth in zip(colorized, photos)], colorized


def evaluate_photos(model: ModelRef, photos: Sequence[np.ndarray], working_size: int | None = None, **options) -> tuple[Report, list[np.ndarray]]:
    """Mean report over ``photos`` (options as ``photo_reports``) and the colorized photos."""
    reports, colorized = photo_reports(model, photos, working_size, **options)
    return mean_report(reports), colorized


def reports_by_source(reports: Sequence[Report], sources: Sequence[str]) -> dict[str, Report]:
    """Mean reports per source, then for the ImageNet sources together and for the rest."""
    groups: dict[str, list[Report]] = {}
    for each, source in zip(reports, sources):
        groups.setdefault(source, []).append(each)
        side = "ImageNet sources" if source in IMAGENET_SOURCES else "other sources"
        groups.setdefault(side, []).append(each)
    sides = ["ImageNet sources", "other sources"]
    order = sorted(name for name in groups if name not in sides) + sides
    return {f"{name} ({len(groups[name])})": mean_report(groups[name]) for name in order if name in groups}


def _format_table(title: str, reports: dict[str, Report]) -> str:
    lines = [title, "", "| model | PSNR dB | SSIM | colourfulness (truth) | CIEDE2000 | AuC | green recall | blue recall |",
             "|---|---|---|---|---|---|---|---|"]
    rows = {"gray baseline": next(iter(reports.values())).gray, **{name: each.model for name, each in reports.items()}}
    truth = next(iter(reports.values())).target_colourfulness
    for name, scores in rows.items():
        lines.append(f"| {name} | {scores.psnr:.2f} | {scores.ssim:.4f} | {scores.colourfulness:.1f} ({truth:.1f}) "
                     f"| {scores.ciede2000:.2f} | {scores.auc:.4f} | {scores.green_recall:.2f} | {scores.blue_recall:.2f} |")
    return "\n".join(lines)


def _format_sources(model: str, by_source: dict[str, Report]) -> str:
    lines = [f"{model} by source (photos)", "", "| source | PSNR dB (gray) | gain dB | colourfulness (truth) | green recall | blue recall |",
             "|---|---|---|---|---|---|"]
    for source, each in by_source.items():
        lines.append(f"| {source} | {each.model.psnr:.2f} ({each.gray.psnr:.2f}) | {each.model.psnr - each.gray.psnr:+.2f} "
                     f"| {each.model.colourfulness:.1f} ({each.target_colourfulness:.1f}) "
                     f"| {each.model.green_recall:.2f} | {each.model.blue_recall:.2f} |")
    return "\n".join(lines)


NEEDS_DATA = ("Evaluation needs a folder of colour photos (JPEG, PNG, ...) as the ground truth, such as "
              "../shared/data/val (400 photos; see the README's Data section), or any folder of your own.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colorize.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="folder of colour photos (ground truth)")
    parser.add_argument("--model", action="append", help="table name or weights folder; repeat for several (default: default)")
    parser.add_argument("--size", type=int, default=256, help="short side the photos are resized to")
    parser.add_argument("--working-size", type=int, help="override the models' working resolution")
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos (0 = all)")
    parser.add_argument("--hints", type=int, default=0, help="reveal N random true-colour patches per photo (guided models)")
    parser.add_argument("--sample", type=int, default=0, help="N photos drawn at random instead of all (a big folder such as the training set)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the revealed hints and of --sample")
    parser.add_argument("--saturation", type=float, default=1.0, help="colour strength, as python -m colorize --saturation")
    parser.add_argument("--by-source", action="store_true", help="also score each source (file-name prefix) apart")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    args = parser.parse_args(argv)
    keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        paths = eval_photo_paths(args.folder, args.limit)
        if args.sample:
            paths = sorted(random.Random(args.seed).sample(paths, min(args.sample, len(paths))))
        photos = [resize_short_side(load_image(path), args.size) for path in paths]
    except ColorizeError as error:
        print(f"{error}\n{NEEDS_DATA}", file=sys.stderr)
        return 1
    if not photos:
        print(f"No photos found in {args.folder}. {NEEDS_DATA}", file=sys.stderr)
        return 1
    try:
        per_photo = {name: photo_reports(name, photos, args.working_size, hints=args.hints, seed=args.seed,
                                         saturation=args.saturation)[0]
                     for name in args.model or ["default"]}
    except ColorizeError as error:
        print(error, file=sys.stderr)
        return 1
    reports = {name: mean_report(each) for name, each in per_photo.items()}
    sources = [source_of(path) for path in paths]
    by_source = {name: reports_by_source(each, sources) for name, each in per_photo.items()} if args.by_source else {}
    if args.json:
        first = next(iter(reports.values()))
        print(json.dumps({"folder": str(args.folder), "size": args.size, "images": len(photos), "hints": args.hints,
                          "gray_baseline": first.to_dict()["gray"], "target_colourfulness": first.target_colourfulness,
                          "models": {name: each.to_dict() for name, each in reports.items()},
                          "by_source": {name: {source: each.to_dict() for source, each in groups.items()}
                                        for name, groups in by_source.items()}}, indent=2))
        return 0
    hinted = f", {args.hints} true-colour hints per photo" if args.hints else ""
    print(_format_table(f"{len(photos)} photos from {args.folder}, short side {args.size} px{hinted}", reports))
    for name, groups in by_source.items():
        print("\n" + _format_sources(name, groups))
    return 0


if __name__ == "__main__":
    sys.exit(main())
