"""Tests for colorize.color: the sRGB <-> CIELAB conversions against scikit-image, the Lab
normalisation, gamut fitting and the gray baseline."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from skimage import color as skcolor

from colorize.color import (
    AB_SCALE,
    _lab_to_linear_rgb,
    denormalize_ab,
    gray_image,
    image_l,
    image_to_lab,
    image_to_tensor,
    is_grayscale,
    lab_to_rgb,
    normalize_ab,
    normalize_l,
    render_lab,
    rgb_to_lab,
    tensor_to_image,
)

MAX_DELTA_E = 0.05


# --- Helpers ----------------------------------------------------------------------------


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) numpy -> (N, 3, H, W) float32 torch."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float()


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) torch -> (N, H, W, 3) float64 numpy."""
    return tensor.detach().permute(0, 2, 3, 1).double().numpy()


def delta_e76(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    return np.linalg.norm(lab1 - lab2, axis=-1)


def sk_lab2rgb(lab: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # scikit-image warns when it clips a negative Z
        warnings.simplefilter("ignore")
        return skcolor.lab2rgb(lab)


RANDOM_RGB = np.random.default_rng(0).random((3, 6, 7, 3))  # a batch of N = 3
CORNERS = np.array([[[[r, g, b] for r in (0, 1) for g in (0, 1) for b in (0, 1)]]], dtype=float)
NEAR_BLACK = np.array([[[[0.0, 0.001, 0.01], [0.02, 0.03, 0.04], [0.0404, 0.04045, 0.0405], [1 / 255, 0.0, 2 / 255]]]])
PRIMARIES_AND_GRAYS = np.array([[[[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5], [0.2, 0.2, 0.2], [1, 1, 1]]]], dtype=float)

RGB_CASES = pytest.mark.parametrize(
    "rgb", [RANDOM_RGB, CORNERS, NEAR_BLACK, PRIMARIES_AND_GRAYS], ids=["random-batch", "cube-corners", "near-black", "primaries-grays"]
)


# --- Conversions against scikit-image ---------------------------------------------------


@RGB_CASES
def test_rgb_to_lab_matches_skimage(rgb):
    ours = to_numpy(rgb_to_lab(to_tensor(rgb)))
    assert delta_e76(ours, skcolor.rgb2lab(rgb)).max() < MAX_DELTA_E


@RGB_CASES
def test_lab_to_rgb_matches_skimage_on_displayable_colours(rgb):
    lab = skcolor.rgb2lab(rgb)
    ours = to_numpy(lab_to_rgb(to_tensor(lab)))
    assert delta_e76(skcolor.rgb2lab(ours), skcolor.rgb2lab(sk_lab2rgb(lab))).max() < MAX_DELTA_E


def test_lab_to_rgb_clips_out_of_gamut_colours_like_skimage():
    rng = np.random.default_rng(1)
    lab = np.stack([rng.uniform(0, 100, (2, 9, 9)), rng.uniform(-110, 110, (2, 9, 9)), rng.uniform(-110, 110, (2, 9, 9))], axis=-1)
    ours = to_numpy(lab_to_rgb(to_tensor(lab)))
    assert ours.min() >= 0.0 and ours.max() <= 1.0
    assert delta_e76(skcolor.rgb2lab(ours), skcolor.rgb2lab(sk_lab2rgb(lab))).max() < MAX_DELTA_E


def test_batched_conversion_equals_one_image_at_a_time():
    batch = to_tensor(RANDOM_RGB)
    together = rgb_to_lab(batch)
    assert together.shape == batch.shape
    for index in range(batch.shape[0]):
        assert torch.allclose(together[index : index + 1], rgb_to_lab(batch[index : index + 1]), atol=1e-5)
    assert torch.allclose(lab_to_rgb(together), batch, atol=1e-4)


def test_rgb_to_lab_gradients_are_finite_at_black_white_and_thresholds():
    rgb = torch.rand(2, 3, 4, 5)
    rgb[0, :, 0, 0] = 0.0   # pure black: the linear branches of both non-linearities
    rgb[0, :, 0, 1] = 1.0   # pure white
    rgb[1, 0, 1, 1] = 0.04045
    rgb[1, :, 2, 2] = torch.tensor([1.0, 0.0, 0.0])
    rgb.requires_grad_(True)
    rgb_to_lab(rgb).square().sum().backward()
    assert rgb.grad is not None
    assert torch.isfinite(rgb.grad).all()


def test_conversions_stay_float32_under_bfloat16_autocast():
    rgb = torch.rand(1, 3, 5, 5)
    reference = rgb_to_lab(rgb)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        lab = rgb_to_lab(rgb)
        back = lab_to_rgb(lab)
        rendered = render_lab(lab[:, :1], lab[:, 1:] * 2)
        from_bf16 = rgb_to_lab(rgb.bfloat16())
    assert lab.dtype == back.dtype == from_bf16.dtype == torch.float32
    assert torch.allclose(lab, reference, atol=1e-4)
    assert np.array_equal(rendered, render_lab(lab[:, :1], lab[:, 1:] * 2))


def test_normalisation_maps_lab_ranges_to_unit_interval_and_back():
    l = torch.tensor([0.0, 50.0, 100.0])
    assert torch.allclose(normalize_l(l), torch.tensor([-1.0, 0.0, 1.0]))
    ab = torch.linspace(-AB_SCALE, AB_SCALE, 11)
    assert normalize_ab(ab).abs().max() == pytest.approx(1.0)
    assert torch.allclose(denormalize_ab(normalize_ab(ab)), ab)


# --- Rendering L + ab into displayable sRGB -------------------------------------------


@pytest.fixture
def wild_lab() -> tuple[torch.Tensor, torch.Tensor]:
    """L and ab drawn uniformly from Lab's full range: most pixels are not displayable."""
    generator = torch.Generator().manual_seed(0)
    l = torch.rand(1, 1, 30, 40, generator=generator) * 100
    ab = (torch.rand(1, 2, 30, 40, generator=generator) * 2 - 1) * AB_SCALE
    return l, ab


def in_gamut_mask(l: torch.Tensor, ab: torch.Tensor, tolerance: float = 1e-4) -> torch.Tensor:
    linear = _lab_to_linear_rgb(torch.cat([l, ab], dim=1))
    return ((linear >= -tolerance) & (linear <= 1 + tolerance)).all(dim=1)[0].numpy()


def rendered_lab(l: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    return image_to_lab(render_lab(l, ab))


def test_render_lab_encodes_every_uint8_code_back_to_itself():
    codes = torch.arange(256, dtype=torch.float32)
    rgb = codes.view(1, 1, 256, 1).expand(1, 3, 256, 1) / 255  # the 256 grays, and each channel alone below
    for image in (rgb, rgb * torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1), rgb * torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1)):
        lab = rgb_to_lab(image)
        assert np.array_equal(render_lab(lab[:, :1], lab[:, 1:]), tensor_to_image(image))


def test_render_lab_matches_the_exact_conversion_of_displayable_colours():
    rgb = torch.rand(1, 3, 60, 70, generator=torch.Generator().manual_seed(1))
    lab = rgb_to_lab(rgb)
    exact = tensor_to_image(lab_to_rgb(lab)).astype(int)
    fast = render_lab(lab[:, :1], lab[:, 1:]).astype(int)
    assert np.abs(fast - exact).max() <= 1
    assert (fast != exact).mean() < 0.01


def test_render_lab_keeps_lightness_where_clipping_would_not(wild_lab):
    l, ab = wild_lab
    outside = ~in_gamut_mask(l, ab)
    assert outside.mean() > 0.5, "the fixture should be mostly out of gamut"
    error = np.abs(rendered_lab(l, ab)[..., 0] - l[0, 0].numpy())
    clipped = np.abs(image_to_lab(tensor_to_image(lab_to_rgb(torch.cat([l, ab], dim=1))))[..., 0] - l[0, 0].numpy())
    assert error.max() < 0.6  # uint8 rounding
    assert clipped[outside].max() > 10  # what plain RGB clipping would have done


def test_render_lab_only_shrinks_chroma_and_keeps_hue(wild_lab):
    l, ab = wild_lab
    before = ab[0].permute(1, 2, 0).numpy()
    after = rendered_lab(l, ab)[..., 1:]
    chroma_before, chroma_after = np.hypot(*before.transpose(2, 0, 1)), np.hypot(*after.transpose(2, 0, 1))
    assert (chroma_after <= chroma_before + 1.5).all()  # uint8 rounding
    shrunk = ~in_gamut_mask(l, ab) & (chroma_after > 15)
    assert shrunk.sum() > 100 and (chroma_after[shrunk] < chroma_before[shrunk] - 1).mean() > 0.9
    hue = np.arctan2(after[..., 1], after[..., 0]) - np.arctan2(before[..., 1], before[..., 0])
    assert np.abs(np.angle(np.exp(1j * hue[shrunk]))).max() < 0.1


def test_render_lab_keeps_displayable_chroma():
    rgb = torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(2)) * 0.8 + 0.1
    lab = rgb_to_lab(rgb)
    after = rendered_lab(lab[:, :1], lab[:, 1:])
    assert np.abs(after - lab[0].permute(1, 2, 0).numpy()).max() < 1.5


# --- Gray baseline and grayscale detection ---------------------------------------------


def test_gray_image_removes_colour_and_keeps_lightness():
    photo = np.random.default_rng(2).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    gray = gray_image(photo)
    assert gray.shape == photo.shape and gray.dtype == np.uint8
    gray_lab, photo_lab = image_to_lab(gray), image_to_lab(photo)
    assert np.abs(gray_lab[..., 1:]).max() < 1.0  # a = b = 0 up to uint8 rounding
    assert np.abs(gray_lab[..., 0] - photo_lab[..., 0]).max() < 0.5


def test_is_grayscale_tells_black_and_white_from_colour():
    rng = np.random.default_rng(3)
    levels = rng.integers(0, 256, (16, 16, 1), dtype=np.uint8)
    assert is_grayscale(np.repeat(levels, 3, axis=2))
    assert not is_grayscale(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))


def test_l_by_table_look_up_equals_the_l_of_the_full_conversion():
    rng = np.random.default_rng(3)
    every_value = np.stack([np.arange(256), np.arange(256)[::-1], (np.arange(256) * 7) % 256], axis=-1)
    for photo in (rng.integers(0, 256, (31, 17, 3), dtype=np.uint8), every_value.astype(np.uint8).reshape(16, 16, 3)):
        l = image_l(photo)
        assert l.shape == (1, 1, *photo.shape[:2]) and l.dtype == torch.float32
        assert torch.allclose(l, rgb_to_lab(image_to_tensor(photo))[:, :1], atol=1e-4)
