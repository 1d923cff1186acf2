"""The weights in checkpoints/ (the real folder, not the tests' one) are what the table says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from colorize.color import image_to_lab
from colorize.hub import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE, load_folder, sha256_of
from colorize.pipeline import colorize_with_details
from colorize.zoo import MODELS

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints"
FOLDERS = sorted(path for path in SHIPPED.iterdir() if path.is_dir()) if SHIPPED.is_dir() else []


def test_checkpoints_stay_small():
    total = sum(path.stat().st_size for path in SHIPPED.rglob("*") if path.is_file())
    assert total < 80 * 2**20


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda path: path.name)
def test_shipped_model_loads_strictly_and_colours_a_photo(folder):
    assert folder.name in MODELS, f"{folder.name} is not a row of the model table"
    assert {CONFIG_FILE, WEIGHTS_FILE, CARD_FILE} <= {path.name for path in folder.iterdir()}
    assert sha256_of(folder / WEIGHTS_FILE) in (folder / CARD_FILE).read_text()
    config = json.loads((folder / CONFIG_FILE).read_text())
    assert config["val"]["model"]["psnr"] > 0 and "gray" in config["val"]
    model = load_folder(folder, MODELS[folder.name])
    ys, xs = np.mgrid[0:48, 0:64]
    photo = np.stack([ys * 5, xs * 4, 255 - ys * 5], axis=-1).astype(np.uint8)
    coloured = colorize_with_details(photo, model).colorized
    chroma = np.hypot(*image_to_lab(coloured)[..., 1:].transpose(2, 0, 1))
    assert chroma.mean() > 1.0, "a trained model adds some colour"


def test_shipped_guided_model_follows_a_hint_over_its_object_and_leaves_other_regions_alone():
    """A blue hint on the astronaut's (orange-gray) suit: the suit turns blue where the hint is
    and far across the suit too, while the dark helmet at the bottom right, beyond strong
    edges, keeps its colour. This checks the shipped engine itself, on the shipped weights."""
    import skimage.data

    from colorize.hints import Point, rgb_to_ab

    photo = skimage.data.astronaut()
    model = load_folder(SHIPPED / "unet-guided", MODELS["unet-guided"])
    hint = Point(x=200, y=420, rgb=(40, 90, 220))
    target = rgb_to_ab([hint.rgb])[0].numpy()
    automatic = image_to_lab(colorize_with_details(photo, model).colorized)[..., 1:]
    guided = image_to_lab(colorize_with_details(photo, model, hints=[hint]).colorized)[..., 1:]

    def mean_ab(picture: np.ndarray, row: int, col: int) -> np.ndarray:
        return picture[row - 5 : row + 5, col - 5 : col + 5].mean(axis=(0, 1))

    at_hint = mean_ab(guided, 420, 200)
    assert np.linalg.norm(at_hint - target) < 0.5 * np.linalg.norm(mean_ab(automatic, 420, 200) - target)
    assert at_hint[1] < -20  # clearly blue (b well below zero)
    assert mean_ab(guided, 350, 120)[1] < mean_ab(automatic, 350, 120)[1] - 15  # the suit's far side follows
    assert np.linalg.norm(mean_ab(guided, 480, 480) - mean_ab(automatic, 480, 480)) < 3  # the helmet does not


def _featureless_inputs(height: int = 192, width: int = 256):
    """(name, L, the axes along which nothing changes): a uniform gray (not L = 50, which
    normalises to 0 and would look like zero padding), and ramps of lightness across and down."""
    import torch

    across = torch.linspace(20.0, 90.0, width).expand(height, width)
    down = torch.linspace(20.0, 90.0, height)[:, None].expand(height, width)
    return [("uniform", torch.full((height, width), 70.0), (1, 2)), ("ramp across", across, 1), ("ramp down", down, 2)]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda path: path.name)
def test_shipped_model_paints_no_blob_on_a_featureless_gray(folder):
    """Issue 14's blob test: a network that colours a uniform gray, or a ramp, differently in one
    place than another paints by position (zero padding, transposed convolutions), which shows
    as a colour blob in a corner or a sky. The colour may follow the lightness, never the place:
    uniform in, uniform out; a ramp across gives one colour all down each column."""
    import torch

    model = load_folder(folder, MODELS[folder.name])
    for name, l, constant_along in _featureless_inputs():
        with torch.no_grad():
            ab = model(l[None, None])[0]
        spread = float((ab.amax(dim=constant_along) - ab.amin(dim=constant_along)).max())
        assert spread < 2.0, f"{folder.name} on a {name}: a and b vary by {spread:.1f} units with position"
