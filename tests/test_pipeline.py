"""Tests for colorize.pipeline with a tiny real network: sizes, the photo's own L, saturation,
working shapes, banded full-resolution merging, batching and the accepted input kinds."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import colorize.pipeline as pipeline
from colorize.archs.shallow import ShallowColorizationNet
from colorize.color import gray_image, image_to_lab
from colorize.errors import InvalidImageError
from colorize.pipeline import (
    _upsample_rows,
    colorize_batch,
    colorize_image,
    colorize_with_details,
    merge_full_resolution,
    working_shape,
)

WORKING_SIZE = 64


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    """A real 4-channel ShallowColorizationNet with random weights and a strong colour bias,
    so its predictions are clearly colourful (a = +70, b = -50 or so)."""
    torch.manual_seed(0)
    network = ShallowColorizationNet(width=4)
    with torch.no_grad():
        network.decoder[-1].bias.copy_(torch.tensor([0.8, -0.5]))
    return network.eval()


def colour_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients plus a little noise: photo-like and clearly colourful."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x / max(width - 1, 1), y / max(height - 1, 1), 0.5 + 0 * x], axis=-1) * 230
    return (rgb + rng.integers(0, 25, rgb.shape)).clip(0, 255).astype(np.uint8)


def gray_photo(height: int, width: int) -> np.ndarray:
    return gray_image(colour_photo(height, width))


def lightness(image: np.ndarray) -> np.ndarray:
    return image_to_lab(image)[..., 0]


# --- Shapes and the photo's own lightness -----------------------------------------------


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (333, 257), (50, 200)], ids=["1x1", "7x5", "333x257", "panorama-4to1"])
def test_output_has_the_input_size(model, size):
    result = colorize_with_details(colour_photo(*size), model, working_size=WORKING_SIZE)
    assert result.colorized.shape == (*size, 3)
    assert result.colorized.dtype == np.uint8


@pytest.mark.parametrize("make_photo", [colour_photo, gray_photo], ids=["colour", "gray"])
def test_output_keeps_the_photos_own_lightness(model, make_photo):
    photo = make_photo(90, 120)
    colorized = colorize_with_details(photo, model, working_size=WORKING_SIZE).colorized
    assert np.hypot(*image_to_lab(colorized)[..., 1:].transpose(2, 0, 1)).mean() > 10, "the model should add colour"
    assert np.abs(lightness(colorized) - lightness(photo)).max() < 1.0


def test_saturation_zero_gives_the_gray_image(model):
    photo = colour_photo(40, 60)
    result = colorize_with_details(photo, model, working_size=WORKING_SIZE, saturation=0.0)
    assert np.abs(image_to_lab(result.colorized)[..., 1:]).max() < 1.0
    assert np.array_equal(result.colorized, gray_image(photo))
    assert np.array_equal(result.gray, gray_image(photo))


@pytest.mark.parametrize(
    "height, width, size",
    [(333, 257, 256), (3000, 4000, 256), (1080, 1920, 512), (500, 2000, 256), (256, 256, 256), (7, 5, 256), (61, 97, 128)],
)
def test_working_shape_is_multiple_of_32_with_target_area_and_aspect(height, width, size):
    h, w = working_shape(height, width, size)
    assert h % 32 == 0 and w % 32 == 0
    assert 0.75 * size**2 <= h * w <= 1.25 * size**2
    assert (h / w) / (height / width) == pytest.approx(1.0, rel=0.1)


# --- Full-resolution merging --------------------------------------------------------------


def test_banded_merge_equals_the_single_band_merge(monkeypatch):
    photo = colour_photo(123, 50)
    ab_small = (torch.rand(1, 2, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1) * 100
    reference = merge_full_resolution(photo, ab_small)
    monkeypatch.setattr(pipeline, "BAND_PIXELS", 1000)  # 20 rows per band, 7 bands
    assert np.array_equal(merge_full_resolution(photo, ab_small), reference)


@pytest.mark.parametrize("size", [(37, 53), (64, 32), (5, 3), (1, 1)])
def test_upsample_rows_equals_bilinear_interpolate(size):
    ab_small = torch.randn(1, 2, 8, 12, generator=torch.Generator().manual_seed(2))
    expected = F.interpolate(ab_small, size=size, mode="bilinear", align_corners=False)
    height = size[0]
    for top, bottom in [(0, height), (height // 2, height), (height // 3, height // 3 + 1)]:
        assert torch.allclose(_upsample_rows(ab_small, size, top, bottom), expected[:, :, top:bottom], atol=1e-5)


# --- Batches, ground truth and input kinds ------------------------------------------------


def test_batch_equals_individual_calls(model):
    photos = [colour_photo(61, 97, seed=1), gray_photo(97, 61), colour_photo(61, 97, seed=2)]
    shapes = [working_shape(*photo.shape[:2], WORKING_SIZE) for photo in photos]
    assert shapes[0] == shapes[2] != shapes[1]
    together = colorize_batch(photos, model, working_size=WORKING_SIZE)
    for photo, batched in zip(photos, together):
        alone = colorize_with_details(photo, model, working_size=WORKING_SIZE)
        assert np.array_equal(batched.colorized, alone.colorized)
        assert np.array_equal(batched.original, photo)
        assert batched.has_ground_truth == alone.has_ground_truth


def test_big_batches_run_the_network_a_few_photos_at_a_time(model):
    photos = [colour_photo(40, 50, seed=seed) for seed in range(pipeline.NETWORK_BATCH * 2 + 1)]
    batch_sizes: list[int] = []
    hook = model.register_forward_pre_hook(lambda module, inputs: batch_sizes.append(inputs[0].shape[0]))
    try:
        together = colorize_batch(photos, model, working_size=WORKING_SIZE)
    finally:
        hook.remove()
    assert batch_sizes == [pipeline.NETWORK_BATCH, pipeline.NETWORK_BATCH, 1]
    for photo, batched in zip(photos, together):
        assert np.array_equal(batched.colorized, colorize_with_details(photo, model, working_size=WORKING_SIZE).colorized)


def test_has_ground_truth_only_for_colour_input(model):
    colour, gray = colorize_batch([colour_photo(30, 40), gray_photo(30, 40)], model, working_size=WORKING_SIZE)
    assert colour.has_ground_truth
    assert not gray.has_ground_truth


def test_colorize_image_accepts_path_bytes_pil_and_array(model, tmp_path: Path):
    photo = colour_photo(45, 70)
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="PNG")
    sources = {"path": path, "str": str(path), "bytes": buffer.getvalue(), "pil": Image.fromarray(photo), "array": photo}
    results = {kind: colorize_image(source, model, working_size=WORKING_SIZE) for kind, source in sources.items()}
    for kind, image in results.items():
        assert isinstance(image, Image.Image), kind
        assert image.mode == "RGB" and image.size == (70, 45), kind
        assert np.array_equal(np.asarray(image), np.asarray(results["array"])), kind


@pytest.mark.parametrize("source", [b"this is not an image", b"", "no/such/photo.jpg", np.zeros((4, 4, 5), np.uint8)],
                         ids=["garbage-bytes", "empty-bytes", "missing-file", "five-channels"])
def test_invalid_input_raises_invalid_image_error(model, source):
    with pytest.raises(InvalidImageError):
        colorize_image(source, model, working_size=WORKING_SIZE)
