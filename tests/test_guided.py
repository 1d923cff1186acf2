"""Guided colorization: hint formats, simulated hints, Levin propagation, the guided API and CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorize import ColorizeError, colorize_with_details
from colorize.archs import build_architecture
from colorize.archs.levin import EDGE_STEP, propagate, propagate_hints
from colorize.archs.propagated import CORRECTION_FADE, LEVIN_SHARE, Likeness, feature_corrections, levin_share
from colorize.color import image_to_lab
from colorize.hints import (
    Point,
    hint_map,
    points_to_hints,
    read_hints_file,
    rgb_to_ab,
    sample_hints,
    strokes_to_hints,
)
from conftest import smooth_colour_photo

REPO_ROOT = Path(__file__).resolve().parent.parent

BLUE, RED = (40, 90, 220), (210, 40, 40)


def two_region_photo(height: int = 96, width: int = 128) -> np.ndarray:
    """A dark left half and a light right half with a sharp edge between: gray RGB uint8."""
    photo = np.full((height, width, 3), 60, np.uint8)
    photo[:, width // 2 :] = 190
    return photo


def mean_ab(image: np.ndarray, columns: slice) -> np.ndarray:
    return image_to_lab(image[:, columns])[..., 1:].reshape(-1, 2).mean(axis=0)


# --- hint formats -------------------------------------------------------------------------

def test_sample_hints_is_deterministic_with_a_seed_and_reveals_true_patch_colours():
    ab = torch.randn(3, 2, 40, 50, generator=torch.Generator().manual_seed(1)) * 30
    first = sample_hints(ab, [5, 0, 12], torch.Generator().manual_seed(7))
    again = sample_hints(ab, [5, 0, 12], torch.Generator().manual_seed(7))
    other = sample_hints(ab, [5, 0, 12], torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert first[1].abs().sum() == 0  # zero hints for image 1
    masked = first[:, 2] > 0
    assert masked[0].any() and masked[2].sum() > masked[0].sum() / 2
    # a 1x1 patch reveals the true colour exactly; larger ones their mean, within the truth's range
    values = first[0, :2][:, masked[0]]
    assert values.min() >= ab[0].min() - 1e-4 and values.max() <= ab[0].max() + 1e-4


def test_points_land_where_clicked_with_the_colours_ab():
    hints = points_to_hints([Point(x=300, y=50, rgb=BLUE)], photo_size=(200, 400), shape=(20, 40))
    assert hints.shape == (1, 3, 20, 40)
    assert hints[0, 2, 5, 30] == 1 and hints[0, 2].sum() == 9  # a 3x3 patch around (row 5, col 30)
    assert torch.allclose(hints[0, :2, 5, 30], rgb_to_ab([BLUE])[0])


def test_stroke_layer_becomes_hints_where_painted_only():
    layer = np.zeros((100, 200, 4), np.uint8)
    layer[10:30, 20:60] = (*RED, 255)
    hints = strokes_to_hints(layer, (10, 20))
    painted = hints[0, 2] > 0
    assert painted[1:3, 2:6].all() and painted.sum() == 8
    assert torch.allclose(hints[0, :2, 2, 3], rgb_to_ab([RED])[0], atol=1e-3)
    assert strokes_to_hints(np.zeros((100, 200, 4), np.uint8), (10, 20)).abs().sum() == 0


def test_hint_map_of_another_size_is_resampled_keeping_colour_and_place():
    hints = torch.zeros(1, 3, 32, 32)
    hints[0, :, 8, 24] = torch.tensor([30.0, -50.0, 1.0])
    smaller = hint_map(hints, (100, 100), (16, 16))
    assert smaller[0, 2].sum() == 1 and smaller[0, 2, 4, 12] == 1
    assert torch.allclose(smaller[0, :2, 4, 12], torch.tensor([30.0, -50.0]))
    with pytest.raises(ValueError, match="shape"):
        hint_map(torch.zeros(3, 8, 8), (100, 100), (16, 16))


def test_hints_file_json_points_and_png_layer(tmp_path: Path):
    points = tmp_path / "hints.json"
    points.write_text(json.dumps([{"x": 5, "y": 6, "color": "#2a5adc"}, {"x": 1, "y": 2, "rgb": [1, 2, 3]}]))
    assert read_hints_file(points) == [Point(5.0, 6.0, (42, 90, 220)), Point(1.0, 2.0, (1, 2, 3))]
    layer = np.zeros((8, 8, 4), np.uint8)
    layer[2, 2] = (*RED, 255)
    png = tmp_path / "strokes.png"
    Image.fromarray(layer).save(png)
    assert np.array_equal(read_hints_file(png), layer)


@pytest.mark.parametrize("content, message", [
    ('[{"x": 1, "y": 2, "color": "blue"}]', "#rrggbb"),
    ('[{"x": 1, "color": "#000000"}]', "y"),
    ("{not json", "Could not read hints"),
])
def test_bad_hints_files_get_plain_errors(tmp_path: Path, content, message):
    path = tmp_path / "hints.json"
    path.write_text(content)
    with pytest.raises(ColorizeError, match=message):
        read_hints_file(path)


def test_opaque_png_is_not_a_stroke_layer(tmp_path: Path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    with pytest.raises(ColorizeError, match="transparency"):
        read_hints_file(path)


# --- Levin propagation --------------------------------------------------------------------

def test_levin_fills_each_region_with_its_hint_and_respects_the_edge():
    photo = two_region_photo()
    hints = [Point(20, 48, BLUE), Point(108, 48, RED)]
    result = colorize_with_details(photo, "levin", hints=hints, working_size=64)
    left, right = mean_ab(result.colorized, slice(0, 56)), mean_ab(result.colorized, slice(72, 128))
    blue, red = rgb_to_ab([BLUE])[0].numpy(), rgb_to_ab([RED])[0].numpy()
    assert np.dot(left, blue) > 0.8 * np.linalg.norm(left) * np.linalg.norm(blue)  # left is bluish
    assert np.dot(right, red) > 0.8 * np.linalg.norm(right) * np.linalg.norm(red)  # right is reddish


def test_levin_solution_is_each_hint_on_its_side_of_a_luminance_edge():
    y = np.where(np.arange(40) < 20, 0.25, 0.75)[None].repeat(30, axis=0)
    hint, mask = np.zeros((2, 30, 40)), np.zeros((30, 40), bool)
    hint[:, 15, 5], mask[15, 5] = (30.0, -60.0), True
    hint[:, 15, 34], mask[15, 34] = (50.0, 40.0), True
    solved = propagate(y, hint, mask)
    assert np.abs(solved[:, :, :19] - np.array([30.0, -60.0])[:, None, None]).max() < 3.0  # leak across the edge: a few %
    assert np.abs(solved[:, :, 21:] - np.array([50.0, 40.0])[:, None, None]).max() < 3.0  # leak across the edge: a few %


def test_levin_honours_the_hint_at_its_pixel():
    y = np.random.default_rng(0).random((30, 40))
    hint, mask = np.zeros((2, 30, 40)), np.zeros((30, 40), bool)
    hint[:, 10, 12], mask[10, 12] = (35.0, -20.0), True
    solved = propagate(y, hint, mask)
    assert np.allclose(solved[:, 10, 12], (35.0, -20.0))
    assert np.abs(solved).max() <= 35.0 + 1e-6  # a weighted mean never leaves the hints' range


def test_a_fading_correction_stays_on_its_side_of_a_strong_edge():
    """One hint: plain Levin spreads it over the whole photo (a single given value is the only
    solution's constant); with unet-guided's tiny fade it fills its own side and stops at the edge."""
    y = np.where(np.arange(60) < 30, 0.3, 0.7)[None, :].repeat(40, axis=0)
    hint, mask = np.zeros((2, 40, 60)), np.zeros((40, 60), bool)
    hint[:, 20, 10], mask[20, 10] = (30.0, -40.0), True
    everywhere = propagate(y, hint, mask)
    assert np.allclose(everywhere[:, :, 40:], np.array([30.0, -40.0])[:, None, None], atol=1.0)
    fading = propagate(y, hint, mask, fade=CORRECTION_FADE)
    assert np.allclose(fading[:, :, :25], np.array([30.0, -40.0])[:, None, None], atol=3.0)
    assert np.abs(fading[:, :, 35:]).max() < 3.0



def test_a_colour_guide_stops_colour_at_an_edge_lightness_does_not_show():
    """Two halves of one lightness (a red and a green shirt of equal gray) and two hints on the
    left: lightness alone floods them over both halves; with the network's colour as a guide
    the right half, which it sees as another colour, keeps far less of them."""
    l = torch.full((1, 1, 32, 48), 60.0)
    seen = torch.zeros(1, 2, 32, 48)
    seen[:, 0, :, :24], seen[:, 0, :, 24:] = 40.0, -40.0
    hints = torch.zeros(1, 3, 32, 48)
    hints[0, :, 16, 6] = torch.tensor([30.0, 20.0, 1.0])
    hints[0, :, 8, 18] = torch.tensor([30.0, 20.0, 1.0])
    flooded = propagate_hints(l, hints, fade=CORRECTION_FADE)
    guided = propagate_hints(l, hints, fade=CORRECTION_FADE, colour_guide=seen)
    assert flooded[0, 0, :, 36:].mean() > 25.0
    assert guided[0, 0, :, :12].mean() > 25.0  # the hinted half still takes the hints
    assert guided[0, 0, :, 36:].mean() < 0.5 * flooded[0, 0, :, 36:].mean()

def test_levin_is_differentiable_in_the_hint_colours():
    """The solve is linear in the hints' colours, and autograd follows them through it (the
    likeness trains through Levin so): the gradient matches finite differences, at the
    working size and through the down- and upsampling of ``side``."""
    torch.manual_seed(0)
    l = torch.rand(1, 1, 14, 18, dtype=torch.double) * 100
    guide = torch.randn(1, 2, 14, 18, dtype=torch.double) * 10
    mask = torch.zeros(1, 1, 14, 18, dtype=torch.double)
    mask[0, 0, 3:5, 2:4] = mask[0, 0, 10, 12:15] = 1.0
    colours = (torch.randn(1, 2, 14, 18, dtype=torch.double) * 20).requires_grad_(True)
    for side in (None, 9):
        spread = lambda ab: propagate_hints(l, torch.cat([ab, mask], dim=1), side, CORRECTION_FADE, colour_guide=guide)
        assert torch.autograd.gradcheck(spread, (colours,), eps=1e-3)  # linear: a wide step is exact, a tiny one drowns in the solve's rounding


def test_guided_default_is_the_default_without_hints_and_meets_a_hint_with_one():
    torch.manual_seed(0)
    plain = build_architecture("effnet-unet", padding_mode="replicate").eval()
    guided = build_architecture("effnet-unet-levin", padding_mode="replicate").eval()
    guided.load_state_dict({**guided.state_dict(), **plain.state_dict()}, strict=True)  # the network, and its own likeness
    l = torch.rand(1, 1, 64, 64) * 100
    hints = torch.zeros(1, 3, 64, 64)
    hints[0, :, 30:33, 30:33] = torch.tensor([40.0, -30.0, 1.0]).view(3, 1, 1)
    with torch.no_grad():
        assert torch.equal(plain(l), guided(l)) and torch.equal(plain(l), guided(l, torch.zeros(1, 3, 64, 64)))
        at_hint = guided(l, hints)[0, :, 31, 31]
    assert torch.allclose(at_hint, torch.tensor([40.0, -30.0]), atol=3.0)


def test_a_hint_corrects_pixels_that_look_alike_to_the_network_wherever_they_are():
    features = torch.zeros(1, 2, 16, 16)
    features[0, 0, :, :4] = features[0, 0, :, 12:] = 1.0   # two strips of one kind, apart
    features[0, 1, :, 4:12] = 1.0                            # something else between them
    colour = torch.full((1, 2, 16, 16), 5.0)
    hints = torch.zeros(1, 3, 16, 16)
    hints[0, :, 7:9, 1:3] = torch.tensor([45.0, -15.0, 1.0]).view(3, 1, 1)
    corrections = feature_corrections(features, colour, hints, Likeness(2))[0]
    assert (corrections[0, :, 12:] > 0.85 * 40).all() and (corrections[1, :, 12:] < -0.85 * 20).all()
    assert corrections[:, :, 4:12].abs().max() < 0.01


def test_levin_gets_a_say_only_once_there_are_several_separate_hints():
    hints = torch.zeros(5, 3, 40, 60)
    for image, count in enumerate([0, 2, 4, 8]):
        for k in range(count):
            row, col = 4 + 10 * (k // 4), 4 + 14 * (k % 4)
            hints[image, :, row : row + 2, col : col + 2] = torch.tensor([20.0, 10.0 * k, 1.0]).view(3, 1, 1)
    hints[4, :, 20, 5:55] = torch.tensor([20.0, 0.0, 1.0]).view(3, 1)  # one long stroke is one hint
    shares = levin_share(hints).flatten().tolist()
    assert shares == pytest.approx([0, 0, LEVIN_SHARE * 2 / 3, LEVIN_SHARE, 0])

    torch.manual_seed(0)
    guided = build_architecture("effnet-unet-levin", padding_mode="replicate").eval()
    with torch.no_grad():
        coloured = guided(torch.rand(1, 1, 40, 60) * 100, hints[3:4])
    for k in range(8):  # both parts honour every hint, so their blend does too
        row, col = 4 + 10 * (k // 4), 4 + 14 * (k % 4)
        assert torch.allclose(coloured[0, :, row, col], torch.tensor([20.0, 10.0 * k]), atol=3.0)


def test_levin_without_hints_leaves_the_photo_gray():
    photo = two_region_photo()
    result = colorize_with_details(photo, "levin", working_size=64)
    assert np.abs(image_to_lab(result.colorized)[..., 1:]).max() < 1.0


# --- the hint network and the API ---------------------------------------------------------

def test_zero_hints_reproduce_the_automatic_output(colour_photo):
    automatic = colorize_with_details(colour_photo, "unet-guided").colorized
    assert np.array_equal(colorize_with_details(colour_photo, "unet-guided", hints=[]).colorized, automatic)
    blank = np.zeros((*np.asarray(Image.open(colour_photo)).shape[:2], 4), np.uint8)
    assert np.array_equal(colorize_with_details(colour_photo, "unet-guided", hints=blank).colorized, automatic)


def test_hints_for_an_automatic_model_are_refused_with_the_guided_names(colour_photo):
    with pytest.raises(ColorizeError, match="unet-guided, levin"):
        colorize_with_details(colour_photo, "shallow", hints=[Point(1, 1, RED)])


# --- command line -------------------------------------------------------------------------

def run(*args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300)


def test_cli_colours_a_photo_from_a_hints_file(tmp_path: Path):
    photo = tmp_path / "halves.png"
    Image.fromarray(two_region_photo()).save(photo)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": 20, "y": 48, "color": "#2a5adc"}, {"x": 108, "y": 48, "color": "#d22828"}]))
    done = run("-m", "colorize", str(photo), "--model", "levin", "--hints", str(hints), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    result = np.asarray(Image.open(tmp_path / "out" / "halves.png"))
    assert mean_ab(result, slice(0, 56))[1] < -10 and mean_ab(result, slice(72, 128))[0] > 10  # blue left, red right


def test_cli_refuses_hints_for_an_automatic_model(tmp_path: Path, colour_photo):
    hints = tmp_path / "hints.json"
    hints.write_text("[]")
    done = run("-m", "colorize", str(colour_photo), "--model", "shallow", "--hints", str(hints), "--out", str(tmp_path))
    assert done.returncode == 1 and "does not take colour hints" in done.stderr


def test_evaluate_with_hints_beats_gray_for_levin(tmp_path: Path):
    folder = tmp_path / "val"
    folder.mkdir()
    Image.fromarray(smooth_colour_photo(64, 80)).save(folder / "a.png")
    done = run("-m", "colorize.evaluate", str(folder), "--model", "levin", "--hints", "20", "--size", "64", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["hints"] == 20
    assert result["models"]["levin"]["model"]["psnr"] > result["gray_baseline"]["psnr"] + 1


def test_levin_stops_at_a_strong_edge_inside_a_busy_window():
    # Left: a busy texture (its local variance makes the reference weights blind to edges);
    # right: a flat bright wall. Red is hinted on the texture, blue on the wall.
    y = np.full((30, 40), 0.9)
    y[:, :20] = 0.45 + 0.2 * np.random.default_rng(0).random((30, 20))
    hint, mask = np.zeros((2, 30, 40)), np.zeros((30, 40), bool)
    hint[:, 15, 3], mask[15, 3] = (60.0, 40.0), True
    hint[:, 15, 37], mask[15, 37] = (0.0, -60.0), True
    red_on_the_wall = [propagate(y, hint, mask, edge_step=step)[0, :, 20:24].mean() for step in (None, EDGE_STEP)]
    assert red_on_the_wall[1] < red_on_the_wall[0] / 2  # edge-aware: at most half the leak of the reference
