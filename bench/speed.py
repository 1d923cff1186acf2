"""Speed of every model on this CPU: end to end, batched, load time, size and arithmetic.

    python bench/speed.py                       # all trained models, all sizes -> bench/results/speed.{md,json}
    python bench/speed.py --models unet --sizes 1024x768 --repeats 3

End to end means what a user waits for: decode a JPEG file, colorize, encode the PNG. Each
figure is the median of ``--repeats`` runs after one warm-up run. Batched throughput is
measured twice: ``colorize_images`` on photos in memory, and the command line's folder path
(JPEG files in, PNG files out) in one process and with one worker process per core; the
folder figure is the marginal rate (``--batch`` more photos take this much longer), so the
workers' one-off start-up is reported apart. Benchmarks print figures; they are never
pass/fail assertions (the machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import io
import platform
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from colorize import colorize_images, colorize_with_details  # noqa: E402
from colorize.archs import count_parameters  # noqa: E402
from colorize.files import colorize_files  # noqa: E402
from colorize.hub import load_model  # noqa: E402
from colorize.pipeline import working_shape  # noqa: E402
from colorize.zoo import get_spec  # noqa: E402

from report import prepare, write_report  # noqa: E402


DEFAULT_SIZES = ("256x256", "1024x768", "4000x3000", "6000x4000")


def photo_jpeg(width: int, height: int) -> bytes:
    """A smooth, photo-like JPEG of the given size (content barely matters for timing)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 128 + 100 * np.sin(xs / (width / 7))
    green = 128 + 100 * np.cos(ys / (height / 5))
    blue = 128 + 60 * np.sin((xs + ys) / (width / 3))
    image = np.stack([red, green, blue], axis=-1).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def median_seconds(run, repeats: int) -> float:
    run()  # warm-up: first-touch allocations, lazy init
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def end_to_end(model: str, jpeg: bytes) -> None:
    result = colorize_with_details(jpeg, model).colorized
    Image.fromarray(result).save(io.BytesIO(), format="PNG", compress_level=1)


def gflops(model: str) -> float:
    """Forward GFLOPs (2 x multiply-adds) at the model's working size for a 4:3 photo."""
    network = load_model(model)
    height, width = working_shape(768, 1024, get_spec(model).working_size)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        network(torch.zeros(1, 1, height, width))
    return counter.get_total_flops() / 1e9


def load_seconds(model: str) -> float:
    load_model.cache_clear()
    start = time.perf_counter()
    load_model(model)
    return time.perf_counter() - start


def batched_photos_per_second(model: str, jpeg: bytes, count: int, repeats: int) -> float:
    photos = [jpeg] * count
    return count / median_seconds(lambda: colorize_images(photos, model), repeats)


def folder_throughput(model: str, jpeg: bytes, count: int, jobs: int) -> dict[str, float]:
    """Photos/s of ``count`` more files through ``colorize_files``, and the fixed start-up (s)."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        sources = [folder / f"photo{i:04d}.jpg" for i in range(2 * count)]
        for source in sources:
            source.write_bytes(jpeg)

        def seconds(photos: list[Path]) -> float:
            start = time.perf_counter()
            for _, error in colorize_files({p: p.with_suffix(".png") for p in photos}, model, jobs):
                assert error is None, error
            return time.perf_counter() - start

        seconds(sources[:jobs])  # warm-up: page cache, lazy imports
        once, twice = seconds(sources[:count]), seconds(sources)
    rate = count / max(twice - once, 1e-9)
    return {"photos_per_s": rate, "start_up_s": max(0.0, once - count / rate)}


def benchmark(models: list[str], sizes: list[str], repeats: int, batch: int) -> dict:
    cores = os.cpu_count() or 1
    results = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                           "cores": cores, "torch": torch.__version__, "python": platform.python_version()}, "models": {}}
    jpegs = {size: photo_jpeg(*map(int, size.split("x"))) for size in sizes}
    for model in models:
        entry = {"load_s": load_seconds(model), "parameters_m": count_parameters(load_model(model)) / 1e6,
                 "gflops": gflops(model), "end_to_end_s": {}}
        for size, jpeg in jpegs.items():
            entry["end_to_end_s"][size] = median_seconds(lambda: end_to_end(model, jpeg), repeats)
            print(f"{model} {size}: {entry['end_to_end_s'][size]:.3f} s", file=sys.stderr)
        batch_size = "1024x768" if "1024x768" in jpegs else sizes[0]
        entry["batched_size"] = batch_size
        entry["batched_photos_per_s"] = batched_photos_per_second(model, jpegs[batch_size], batch, repeats)
        entry["folder"] = {str(jobs): folder_throughput(model, jpegs[batch_size], batch, jobs) for jobs in (1, cores)}
        print(f"{model} batched {entry['batched_photos_per_s']:.1f}/s, folder "
              + ", ".join(f"{jobs} jobs {f['photos_per_s']:.1f}/s" for jobs, f in entry["folder"].items()), file=sys.stderr)
        results["models"][model] = entry
    return results


def markdown(results: dict) -> str:
    entries = results["models"].values()
    sizes = list(next(iter(entries))["end_to_end_s"])
    jobs = list(next(iter(entries))["folder"])
    machine = results["machine"]
    lines = [f"CPU {machine['cpu']}, {machine['cores']} cores, {machine['threads']} threads, torch {machine['torch']}; "
             "median seconds end to end (decode JPEG, colorize, encode PNG); batched photos/s at "
             f"{next(iter(entries))['batched_size']}: in memory (`colorize_images`) and folder to folder "
             f"(`python -m colorize DIR --jobs N`, start-up excluded) with {' and '.join(jobs)} processes.", "",
             "| model | params (M) | GFLOPs | load (s) | " + " | ".join(sizes) + " | in memory | "
             + " | ".join(f"folder, {n} jobs" for n in jobs) + " |",
             "|---" * (5 + len(sizes) + len(jobs)) + "|"]
    for name, entry in results["models"].items():
        lines.append(f"| {name} | {entry['parameters_m']:.1f} | {entry['gflops']:.1f} | {entry['load_s']:.2f} | "
                     + " | ".join(f"{entry['end_to_end_s'][size]:.3f}" for size in sizes)
                     + f" | {entry['batched_photos_per_s']:.1f} | "
                     + " | ".join(f"{entry['folder'][n]['photos_per_s']:.1f}" for n in jobs) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", help="default: every model with weights")
    parser.add_argument("--sizes", nargs="*", default=list(DEFAULT_SIZES), help="WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32, help="photos per batched run")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/speed")
    args = parser.parse_args(argv)
    models = prepare(args.models, args.threads)
    results = benchmark(models, args.sizes, args.repeats, args.batch)
    table = markdown(results)
    write_report(args.out, results, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
