"""Metrics checked against values worked out by hand or published reference data."""

import json
import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from colorize import metrics
from colorize.color import gray_image, lab_to_image


def constant_image(rgb, height=8, width=8):
    return np.full((height, width, 3), rgb, dtype=np.uint8)


def random_image(seed, height=16, width=16):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def lab_image(lab, height=8, width=8):
    return lab_to_image(np.full((height, width, 3), lab, dtype=np.float32))


# --- Identical images score perfectly ------------------------------------------------------


def test_identical_images_score_perfectly():
    image = random_image(0)
    scores = metrics.score(image, image.copy())
    assert scores.psnr == math.inf
    assert scores.ssim == pytest.approx(1.0)
    assert scores.ciede2000 == pytest.approx(0.0, abs=1e-9)
    assert scores.auc == 1.0
    assert scores.mse == 0.0


# --- MSE and PSNR --------------------------------------------------------------------------


def test_constant_difference_of_10_gives_mse_100():
    prediction, target = constant_image(110), constant_image(100)
    assert metrics.mse(prediction, target) == 100.0
    assert metrics.psnr(prediction, target) == pytest.approx(10 * math.log10(255**2 / 100))


def test_black_against_white_does_not_wrap_around_in_uint8():
    black, white = constant_image(0), constant_image(255)
    assert metrics.mse(black, white) == 255.0**2
    assert metrics.psnr(black, white) == pytest.approx(0.0)


# --- SSIM ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (1, 40), (3, 3), (6, 6), (7, 9)])
def test_ssim_handles_images_smaller_than_the_default_window(shape):
    target = random_image(1, *shape)
    prediction = random_image(2, *shape)
    assert metrics.ssim(target, target) == pytest.approx(1.0)
    assert -1.0 <= metrics.ssim(prediction, target) <= 1.0


def test_ssim_shrinks_the_window_to_fit_a_6_pixel_image():
    prediction, target = random_image(3, 6, 6), random_image(4, 6, 6)
    expected = structural_similarity(
        prediction, target, channel_axis=-1, data_range=255, win_size=5
    )
    assert metrics.ssim(prediction, target) == pytest.approx(expected)


@pytest.mark.parametrize("shape", [(256, 341), (37, 8), (7, 7)])
def test_ssim_is_scikit_images_to_the_last_digits(shape):
    prediction, target = random_image(5, *shape), random_image(6, *shape)
    prediction[: shape[0] // 2] = target[: shape[0] // 2]  # half alike, so the score is far from 0
    expected = structural_similarity(prediction, target, channel_axis=-1, data_range=255, win_size=7)
    assert metrics.ssim(prediction, target) == pytest.approx(expected, abs=1e-12)


def test_ssim_of_a_single_pixel_is_its_luminance_term():
    # One pixel has no variance, so only 2·μx·μy + C1 over μx² + μy² + C1 remains, with
    # μx = 0, μy = 255 and C1 = (0.01 · 255)² = 6.5025.
    black, white = constant_image(0, 1, 1), constant_image(255, 1, 1)
    assert metrics.ssim(black, white) == pytest.approx(6.5025 / (255**2 + 6.5025))


# --- Colourfulness -------------------------------------------------------------------------


def test_gray_image_has_zero_colourfulness():
    ramp = np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), 3, axis=2)
    assert metrics.colourfulness(ramp) == 0.0


def test_colourfulness_of_a_red_and_a_blue_pixel():
    # Red (255, 0, 0): rg = 255, yb = 127.5.  Blue (0, 0, 255): rg = 0, yb = -255.
    # std(rg) = 127.5, std(yb) = 382.5 / 2 = 191.25; mean(rg) = 127.5, mean(yb) = -63.75.
    image = np.array([[[255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    expected = math.sqrt(127.5**2 + 191.25**2) + 0.3 * math.sqrt(127.5**2 + 63.75**2)
    assert metrics.colourfulness(image) == pytest.approx(expected)


# --- CIEDE2000 -----------------------------------------------------------------------------


# Pairs from Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula", table 1.
SHARMA_PAIRS = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
]


@pytest.mark.parametrize(("first", "second", "expected"), SHARMA_PAIRS)
def test_ciede2000_matches_sharma_reference_data(first, second, expected):
    first_lab = np.full((2, 2, 3), first)
    second_lab = np.full((2, 2, 3), second)
    assert metrics.ciede2000_from_lab(second_lab, first_lab) == pytest.approx(expected, abs=1e-4)


def test_ciede2000_of_images_is_the_mean_over_pixels():
    # Half the pixels identical, half one Sharma pair apart: the mean halves the difference.
    first, second, expected = SHARMA_PAIRS[2]
    target = np.concatenate([lab_image(first, 4, 4), lab_image(first, 4, 4)])
    prediction = np.concatenate([lab_image(first, 4, 4), lab_image(second, 4, 4)])
    # Rounding to uint8 moves each colour by a fraction of a ΔE.
    assert metrics.ciede2000(prediction, target) == pytest.approx(expected / 2, abs=0.5)


# --- AuC -----------------------------------------------------------------------------------


def lab_with_ab_errors(errors):
    """Lab pixels at L = 50 whose (a, b) lie ``errors`` away from a gray target's (0, 0)."""
    errors = np.asarray(errors, dtype=np.float64)
    prediction = np.stack([np.full_like(errors, 50.0), errors * 0.6, errors * 0.8], axis=-1)
    target = np.stack([np.full_like(errors, 50.0), 0 * errors, 0 * errors], axis=-1)
    return prediction, target


def test_auc_counts_the_thresholds_each_pixel_meets():
    # Of the 151 thresholds 0..150, error 0 meets all 151, error 10.5 meets 11..150 (140),
    # error 200 meets none.
    prediction, target = lab_with_ab_errors([0.0, 10.5, 200.0])
    assert metrics.auc_from_lab(prediction, target) == pytest.approx(291 / 453)


def test_auc_equals_sweeping_every_threshold():
    errors = np.random.default_rng(5).uniform(0, 200, 1000)
    prediction, target = lab_with_ab_errors(errors)
    swept = np.mean([np.mean(errors <= t) for t in range(151)])
    assert metrics.auc_from_lab(prediction, target) == pytest.approx(swept)
    assert metrics.auc_from_lab(prediction, target, max_threshold=20) == pytest.approx(
        np.mean([np.mean(errors <= t) for t in range(21)])
    )


def test_auc_of_images_with_a_known_ab_error():
    # (a, b) = (30, 40) against gray is an ab error of 50: thresholds 50..150 are met, 101 of 151.
    # Rounding to uint8 can move the error across one integer threshold.
    target, prediction = lab_image((50, 0, 0)), lab_image((50, 30, 40))
    assert metrics.auc(prediction, target) == pytest.approx(101 / 151, abs=1.01 / 151)


def test_auc_ignores_lightness():
    prediction, target = lab_with_ab_errors([0.0, 0.0])
    prediction[..., 0] = [0.0, 100.0]
    assert metrics.auc_from_lab(prediction, target) == 1.0


# --- Reports -------------------------------------------------------------------------------


def test_gray_baseline_of_a_gray_target_is_perfect():
    target = np.repeat(random_image(6)[..., :1], 3, axis=2)
    result = metrics.report(target, target)
    assert result.gray == result.model
    assert result.gray.psnr == math.inf
    assert result.gray.mse == 0.0
    assert result.target_colourfulness == 0.0
    assert result.colourfulness_gap == 0.0


def test_report_scores_the_model_and_the_gray_baseline():
    target = lab_image((60, 40, -30))
    result = metrics.report(target, target)
    assert result.model == metrics.score(target, target)
    assert result.gray.ciede2000 > 10.0
    assert result.gray.colourfulness == 0.0
    assert result.target_colourfulness == pytest.approx(metrics.colourfulness(target))


def test_colourfulness_gap_is_relative_to_the_target():
    def scores(colourfulness):
        return metrics.Scores(
            psnr=30.0, ssim=0.9, colourfulness=colourfulness, ciede2000=5.0, auc=0.9, mse=60.0
        )

    assert metrics.Report(scores(30.0), scores(0.0), 40.0).colourfulness_gap == -0.25
    assert metrics.Report(scores(0.0), scores(0.0), 40.0).colourfulness_gap == -1.0
    assert metrics.Report(scores(5.0), scores(0.0), 0.0).colourfulness_gap == math.inf


def test_tiny_images_score_without_crashing():
    for shape in [(1, 1), (2, 3), (6, 6)]:
        result = metrics.report(random_image(11, *shape), random_image(12, *shape))
        assert 0.0 <= result.model.auc <= 1.0


def test_mean_report_averages_every_field_and_caps_psnr():
    image = random_image(7)
    other = random_image(8)
    perfect, imperfect = metrics.report(image, image), metrics.report(other, image)
    mean = metrics.mean_report([perfect, imperfect])
    assert mean.model.psnr == pytest.approx((metrics.PSNR_CAP_DB + imperfect.model.psnr) / 2)
    assert mean.model.mse == pytest.approx(imperfect.model.mse / 2)
    assert mean.model.auc == pytest.approx((1.0 + imperfect.model.auc) / 2)
    assert mean.gray.ciede2000 == pytest.approx(
        (perfect.gray.ciede2000 + imperfect.gray.ciede2000) / 2
    )
    assert mean.target_colourfulness == pytest.approx(perfect.target_colourfulness)


def meadow_under_sky(height: int = 32, width: int = 24) -> np.ndarray:
    """Blue sky over green grass over a brown path: a photo with clear green and blue."""
    photo = np.empty((height, width, 3), np.uint8)
    photo[: height // 2] = (70, 130, 220)
    photo[height // 2 : height - 4] = (60, 150, 50)
    photo[height - 4 :] = (120, 90, 60)
    return photo


def test_semantic_colour_recall_is_one_for_the_truth_and_zero_for_gray_and_sepia():
    photo = meadow_under_sky()
    truth = metrics.report(photo, photo)
    assert truth.model.green_recall == 1.0 and truth.model.blue_recall == 1.0
    assert truth.model.green_pixels == 12 * 24 and truth.model.blue_pixels == 16 * 24
    assert truth.gray.green_recall == 0.0 and truth.gray.blue_recall == 0.0
    sepia = np.empty_like(photo)
    sepia[:] = (150, 120, 90)
    sepia_report = metrics.report(sepia, photo)
    assert sepia_report.model.green_recall == 0.0 and sepia_report.model.blue_recall == 0.0


def test_semantic_colour_recall_counts_only_clear_colours_and_is_nan_without_them():
    brown = np.full((8, 8, 3), (120, 90, 60), np.uint8)
    scores = metrics.report(brown, brown).model
    assert math.isnan(scores.green_recall) and scores.green_pixels == 0


def test_mean_recall_is_pooled_over_pixels_not_images():
    meadow = meadow_under_sky()
    small_meadow = meadow_under_sky(8, 2)
    right, wrong = metrics.report(meadow, meadow), metrics.report(gray_image(small_meadow), small_meadow)
    mean = metrics.mean_report([right, wrong])
    green_total = right.model.green_pixels + wrong.model.green_pixels
    assert mean.model.green_recall == pytest.approx(right.model.green_pixels / green_total)
    assert mean.model.green_recall > 0.5  # an image mean would say 0.5


def test_mean_report_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        metrics.mean_report([])


def test_report_to_dict_is_json_of_plain_floats():
    image = random_image(9)
    as_dict = metrics.report(random_image(10), image).to_dict()
    assert set(as_dict) == {"model", "gray", "target_colourfulness", "colourfulness_gap"}
    assert set(as_dict["model"]) == {"psnr", "ssim", "colourfulness", "ciede2000", "auc", "mse",
                                     "green_recall", "blue_recall", "green_pixels", "blue_pixels"}
    values = [
        *as_dict["model"].values(),
        *as_dict["gray"].values(),
        as_dict["target_colourfulness"],
        as_dict["colourfulness_gap"],
    ]
    assert all(type(value) is float for value in values)
    assert json.loads(json.dumps(as_dict)) == as_dict


# --- Refusing bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "target", "message"),
    [
        (random_image(0, 8, 8), random_image(0, 8, 9), "same shape"),
        (random_image(0).astype(np.float32), random_image(0), "uint8"),
        (random_image(0)[..., 0], random_image(0)[..., 0], r"\(H, W, 3\)"),
        (np.zeros((0, 4, 3), np.uint8), np.zeros((0, 4, 3), np.uint8), "non-empty"),
    ],
)
def test_bad_input_raises_value_error(prediction, target, message):
    for metric in [metrics.mse, metrics.ssim, metrics.ciede2000, metrics.auc, metrics.report]:
        with pytest.raises(ValueError, match=message):
            metric(prediction, target)


def test_colourfulness_refuses_float_images():
    with pytest.raises(ValueError, match="uint8"):
        metrics.colourfulness(np.zeros((4, 4, 3)))
