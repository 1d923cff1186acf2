"""Colorize image files into PNG files, one photo after another or in worker processes.

This is the folder path of the command line. On a small CPU the fastest way through many
photos is not one process with every core on each photo, but one process per core with
one thread each: decoding, resizing and PNG encoding run on a single core anyway, and the
network gains less than 2x from a second thread. Measured with ``bench/speed.py`` (2 cores,
unet, 1024x768 JPEG -> PNG): 7.9 photos/s in one two-thread process, 11.6 with two one-thread
workers. A worker costs a start-up of a couple of seconds (importing torch, loading the
model), so small batches stay in the calling process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from .errors import ColorizeError
from .pipeline import ModelRef, colorize_with_details
from .runtime import keep_freed_memory

PNG_COMPRESS_LEVEL = 1
"""zlib level of written PNGs: a 1024x768 result takes 44 ms at level 1 and 198 ms at Pillow's
default 6, for a file only 10 % bigger (877 vs 800 KB, measured on skimage's astronaut)."""

PHOTOS_PER_WORKER_START = 16
"""Below this many photos per worker, a worker's start-up costs more than it saves."""


def save_png(image: Image.Image, path: str | os.PathLike) -> None:
    """Write a PNG quickly (see ``PNG_COMPRESS_LEVEL``)."""
    image.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)


def default_jobs(photos: int, cores: int | None = None) -> int:
    """One worker process per core for big batches, none (this process) for small ones."""
    cores = cores or os.cpu_count() or 1
    return max(1, min(cores, photos // PHOTOS_PER_WORKER_START))


def colorize_file(source: Path, target: Path, model: ModelRef, options: dict[str, Any]) -> str | None:
    """Colorize one file into ``target``; returns the plain-language error, or None."""
    try:
        result = colorize_with_details(source, model, **options)
    except ColorizeError as error:
        return str(error)
    save_png(Image.fromarray(result.colorized), target)
    return None


def _start_worker(threads: int) -> None:
    keep_freed_memory()
    torch.set_num_threads(threads)


def colorize_files(
    pairs: dict[Path, Path], model: ModelRef = "default", jobs: int = 1, threads: int | None = None, **options
) -> Iterator[tuple[Path, str | None]]:
    """Colorize every ``source -> target`` pair; yields ``(source, error or None)`` as each finishes.

    ``jobs`` > 1 runs that many worker processes (spawned, so no OpenMP state is forked),
    sharing ``threads`` torch threads between them (default: this process's count); the
    order of results is then the order they finish in. ``options`` are those of
    ``colorize_with_details``. A file that cannot be read is reported, never raised.
    """
    if jobs <= 1:
        for source, target in pairs.items():
            yield source, colorize_file(source, target, model, options)
        return
    per_worker = max(1, (threads or torch.get_num_threads()) // jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(per_worker,)) as pool:
        futures = {pool.submit(colorize_file, source, target, model, options): source for source, target in pairs.items()}
        for future in as_completed(futures):
            yield futures[future], future.result()
