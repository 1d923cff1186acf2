"""Speed of every model on this CPU: end to end, batched, load time, size and arithmetic.

    python bench/speed.py                       # all trained models, all sizes -> bench/results/speed.{md,json}
    python bench/speed.py --models unet --sizes 1024x768 --repeats 3

End to end means what a user waits for: decode a JPEG file, colorize, encode the PNG. Each
figure is the median of ``--repeats`` runs after one warm-up run. Benchmarks print figures;
they are never pass/fail assertions (the machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import sys
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


def batched_photos_per_second(model: str, jpeg: bytes, count: int) -> float:
    photos = [jpeg] * count
    seconds = median_seconds(lambda: colorize_images(photos, model), 1)
    return count / seconds


def benchmark(models: list[str], sizes: list[str], repeats: int, batch: int) -> dict:
    results = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                           "torch": torch.__version__, "python": platform.python_version()}, "models": {}}
    jpegs = {size: photo_jpeg(*map(int, size.split("x"))) for size in sizes}
    for model in models:
        entry = {"load_s": load_seconds(model), "parameters_m": count_parameters(load_model(model)) / 1e6,
                 "gflops": gflops(model), "end_to_end_s": {}}
        for size, jpeg in jpegs.items():
            entry["end_to_end_s"][size] = median_seconds(lambda: end_to_end(model, jpeg), repeats)
            print(f"{model} {size}: {entry['end_to_end_s'][size]:.3f} s", file=sys.stderr)
        batch_size = "1024x768" if "1024x768" in jpegs else sizes[0]
        entry["batched_photos_per_s"] = {batch_size: batched_photos_per_second(model, jpegs[batch_size], batch)}
        results["models"][model] = entry
    return results


def markdown(results: dict) -> str:
    sizes = list(next(iter(results["models"].values()))["end_to_end_s"])
    machine = results["machine"]
    lines = [f"CPU {machine['cpu']}, {machine['threads']} threads, torch {machine['torch']}; median seconds end to end "
             "(decode JPEG, colorize, encode PNG).", "",
             "| model | params (M) | GFLOPs | load (s) | " + " | ".join(sizes) + " | batched photos/s |",
             "|---" * (5 + len(sizes)) + "|"]
    for name, entry in results["models"].items():
        batched = ", ".join(f"{value:.1f} ({size})" for size, value in entry["batched_photos_per_s"].items())
        lines.append(f"| {name} | {entry['parameters_m']:.1f} | {entry['gflops']:.1f} | {entry['load_s']:.2f} | "
                     + " | ".join(f"{entry['end_to_end_s'][size]:.3f}" for size in sizes) + f" | {batched} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", help="default: every model with weights")
    parser.add_argument("--sizes", nargs="*", default=list(DEFAULT_SIZES), help="WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16, help="photos per batched-folder run")
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
