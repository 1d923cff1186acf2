"""Throughput of the training data pipeline, with and without the in-memory photo cache.

    python bench/loader.py                      # -> bench/results/loader.{md,json}
    python bench/loader.py --photos 50 --batches 5

The training loop asks ``train.data.training_batches`` for (B, 3, crop, crop) RGB batches.
With ``--cache`` (the default) every photo is decoded once into memory and a batch only costs
crops; with ``--no-cache`` every crop decodes its JPEG again. The question this answers: does
the loader keep up with the network? (The U-Net consumes about 15 crops/s at 128 px on 2 cores.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from colorize.io import find_images  # noqa: E402
from train.config import TrainConfig  # noqa: E402
from train.data import PhotosOnDisk, load_photos, training_batches  # noqa: E402

from report import write_report  # noqa: E402


def crops_per_second(cfg: TrainConfig, photos, batches: int) -> float:
    stream = training_batches(cfg, photos, 0, 0, 1, pin_memory=False)
    next(stream)  # start-up (workers, first permutation) is not throughput
    start = time.perf_counter()
    for _ in range(batches):
        next(stream)
    return batches * cfg.batch_size / (time.perf_counter() - start)


def benchmark(folder: Path, count: int, batches: int, batch_size: int, crop: int, workers: list[int]) -> dict:
    with tempfile.TemporaryDirectory() as subset:  # links to the first photos: no copies
        for path in find_images([folder])[:count]:
            (Path(subset) / path.name).symlink_to(path.resolve())
        start = time.perf_counter()
        cached = load_photos(subset, 256, 5.0)
        decode_seconds = time.perf_counter() - start
        on_disk = PhotosOnDisk(subset, 256, 5.0)
        results = {"photos": len(cached), "batch_size": batch_size, "crop": crop, "threads": torch.get_num_threads(),
                   "cache_build_s": decode_seconds, "cache_mb": sum(photo.nbytes for photo in cached) / 2**20,
                   "crops_per_s": {}}
        for worker_count in workers:
            cfg = TrainConfig(batch_size=batch_size, crop=crop, workers=worker_count)
            for name, photos in (("cache", cached), ("no-cache", on_disk)):
                key = f"{name}, {worker_count} workers"
                results["crops_per_s"][key] = crops_per_second(cfg, photos, batches)
                print(f"{key}: {results['crops_per_s'][key]:.0f} crops/s", file=sys.stderr)
    return results


def markdown(results: dict) -> str:
    lines = [f"{results['photos']} photos, batches of {results['batch_size']} crops of {results['crop']} px, "
             f"{results['threads']} torch threads. Building the cache (decode once) took "
             f"{results['cache_build_s']:.1f} s and holds {results['cache_mb']:.0f} MB.", "",
             "| loader | crops/s |", "|---|---|"]
    lines += [f"| {name} | {value:.0f} |" for name, value in results["crops_per_s"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/train")
    parser.add_argument("--photos", type=int, default=500, help="how many training photos to load")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--workers", nargs="*", type=int, default=[0, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/loader")
    args = parser.parse_args(argv)
    results = benchmark(args.data, args.photos, args.batches, args.batch_size, args.crop, args.workers)
    table = markdown(results)
    write_report(args.out, results, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
