"""Photos in, batches of RGB crops out: the training data pipeline.

On small sets (like ../shared/data/train, 6k photos) every photo is decoded once into
memory as uint8, so the CPU never re-decodes a JPEG. Sampling is a pure function of
(seed, epoch, position): which photo, where it is cropped, whether it is flipped. That makes
``--resume`` continue exactly and lets every DDP rank take its own shard without talking.
Colour conversion is not done here: the trainer turns whole batches into Lab on the device.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

from colorize.color import mean_chroma
from colorize.errors import InvalidImageError
from colorize.io import find_images, load_image, resize_short_side


def read_colour_photo(path: Path, side: int, min_chroma: float) -> np.ndarray | None:
    """A training photo at ``side`` px short side, or None when it is gray or unreadable:
    a black-and-white photo would only teach the network that "no colour" is right."""
    try:
        photo = resize_short_side(load_image(path), side)
    except InvalidImageError:
        return None
    return photo if mean_chroma(photo) >= min_chroma else None


def load_photos(folder: str | Path, side: int, min_chroma: float, threads: int = 4) -> list[np.ndarray]:
    """Decode every colour photo under ``folder`` into memory (Pillow decodes outside the GIL)."""
    paths = find_images([folder])
    with ThreadPoolExecutor(threads) as pool:
        photos = pool.map(lambda path: read_colour_photo(path, side, min_chroma), paths)
        return [photo for photo in photos if photo is not None]


class PhotosOnDisk(Sequence):
    """The colour photos of a folder, decoded again at every access (``--no-cache``).

    The gray filter still needs one pass over the pixels; after it only paths are kept.
    """

    def __init__(self, folder: str | Path, side: int, min_chroma: float, threads: int = 4) -> None:
        paths = find_images([folder])
        with ThreadPoolExecutor(threads) as pool:
            keep = list(pool.map(lambda path: read_colour_photo(path, side, min_chroma) is not None, paths))
        self.paths = [path for path, kept in zip(paths, keep) if kept]
        self.side = side

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        return resize_short_side(load_image(self.paths[index]), self.side)


def random_crop(photo: np.ndarray, crop: int, span: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    """A random square crop resized to ``crop`` px, randomly flipped; (3, crop, crop) float in [0, 1].

    The crop's side is drawn between ``span[0]`` and ``span[1]`` times the photo's short side
    (scale jitter), so the network sees both whole scenes and close-ups.
    """
    height, width = photo.shape[:2]
    short = min(height, width)
    high = max(1, min(short, round(short * span[1])))
    low = max(1, min(high, round(short * span[0])))
    side = int(torch.randint(low, high + 1, (1,), generator=generator))
    top = int(torch.randint(0, height - side + 1, (1,), generator=generator))
    left = int(torch.randint(0, width - side + 1, (1,), generator=generator))
    patch = torch.from_numpy(np.ascontiguousarray(photo[top : top + side, left : left + side])).permute(2, 0, 1).float() / 255
    if side != crop:
        patch = F.interpolate(patch[None], size=(crop, crop), mode="bilinear", antialias=True, align_corners=False)[0]
    if torch.rand((), generator=generator) < 0.5:
        patch = patch.flip(-1)
    return patch.clamp(0, 1)


class CropDataset(Dataset):
    """Map-style dataset whose keys are (photo index, augmentation seed) pairs."""

    def __init__(self, photos: Sequence[np.ndarray], crop: int, span: tuple[float, float]) -> None:
        self.photos, self.crop, self.span = photos, crop, span

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        index, seed = key
        generator = torch.Generator().manual_seed(seed)
        return random_crop(self.photos[index], self.crop, self.span, generator)


class EpochSampler(Sampler):
    """Endless (index, seed) keys: epoch e is a permutation drawn from (seed, e).

    Starts at global sample ``start`` (for --resume) and yields only this rank's share.
    """

    def __init__(self, size: int, seed: int, start: int = 0, rank: int = 0, world_size: int = 1) -> None:
        self.size, self.seed, self.start, self.rank, self.world_size = size, seed, start, rank, world_size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, position = divmod(self.start, self.size)
        while True:
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch))
            for position in range(position, self.size):
                if (epoch * self.size + position) % self.world_size == self.rank:  # global sample index
                    yield int(order[position]), (self.seed * 1_000_003 + epoch) * 1_000_003 + position
            epoch, position = epoch + 1, 0


class StreamingCrops(IterableDataset):
    """Crops from a Hugging Face ``datasets`` dataset, streamed (ImageNet-scale runs on a GPU).

    Resuming restarts the stream: exact resume is for in-memory folders only.
    """

    def __init__(self, name: str, split: str, crop: int, span: tuple[float, float], side: int, min_chroma: float, seed: int) -> None:
        self.name, self.split, self.crop, self.span = name, split, crop, span
        self.side, self.min_chroma, self.seed = side, min_chroma, seed

    def __iter__(self) -> Iterator[torch.Tensor]:
        from datasets import load_dataset

        stream = load_dataset(self.name, split=self.split, streaming=True).shuffle(seed=self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        for row in stream:
            image = next(value for value in row.values() if isinstance(value, Image.Image))
            photo = resize_short_side(load_image(image), self.side)
            if mean_chroma(photo) >= self.min_chroma:
                yield random_crop(photo, self.crop, self.span, generator)


def training_batches(cfg, photos: Sequence[np.ndarray] | None, start_step: int, rank: int, world_size: int, pin_memory: bool) -> Iterator[torch.Tensor]:
    """Endless (B, 3, crop, crop) float RGB batches, starting at ``start_step``."""
    loader_options = dict(batch_size=cfg.batch_size, num_workers=cfg.workers, pin_memory=pin_memory,
                          persistent_workers=cfg.workers > 0)
    if photos is None:
        name, _, split = cfg.data.removeprefix("hf://").partition(":")
        dataset = StreamingCrops(name, split or "train", cfg.crop, (cfg.crop_min, cfg.crop_max), cfg.cache_side,
                                 cfg.min_chroma, cfg.seed + rank)
        return iter(DataLoader(dataset, **loader_options))
    sampler = EpochSampler(len(photos), cfg.seed, start_step * cfg.batch_size * world_size, rank, world_size)
    return iter(DataLoader(CropDataset(photos, cfg.crop, (cfg.crop_min, cfg.crop_max)), sampler=sampler, **loader_options))
