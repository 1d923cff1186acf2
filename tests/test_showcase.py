"""What the studio shows, tested without Gradio."""

from __future__ import annotations

import numpy as np
import pytest

from colorize.color import image_to_lab, lab_to_image
from colorize.showcase import channel_images, comparison_table, metric_rows, model_guide, preview, showcase
from colorize.zoo import MODELS
from conftest import smooth_colour_photo


def test_preview_shrinks_big_images_and_never_enlarges_small_ones():
    big = np.zeros((3000, 4000, 3), np.uint8)
    assert preview(big).shape == (768, 1024, 3)
    small = np.zeros((30, 40, 3), np.uint8)
    assert preview(small) is small


def test_channel_pictures_put_each_channel_on_its_own_axis():
    lab = np.zeros((8, 16, 3), np.float32)
    lab[..., 0] = 60
    lab[:, :8, 1], lab[:, 8:, 1] = -20, 20   # green on the left, red on the right
    lab[:4, :, 2], lab[4:, :, 2] = -20, 20   # blue on top, yellow below
    pictures = channel_images(lab_to_image(lab))
    l_pic, a_pic, b_pic = (image_to_lab(pictures[name]) for name in pictures)
    assert np.abs(l_pic[..., 1:]).max() < 1                        # L alone: no colour
    assert a_pic[0, 0, 1] < -15 and a_pic[0, -1, 1] > 15 and np.abs(a_pic[..., 2]).max() < 2
    assert b_pic[0, 0, 2] < -15 and b_pic[-1, 0, 2] > 15 and np.abs(b_pic[..., 1]).max() < 2


def test_scores_are_made_at_a_fixed_size_and_keep_the_gray_baseline():
    photo = smooth_colour_photo(600, 800)
    shown = showcase(photo, "shallow")
    assert shown.full_resolution.shape == photo.shape
    rows = metric_rows(shown.report)
    assert rows[0][0] == "PSNR (dB)" and rows[0][2] == round(shown.report.gray.psnr, 2)
    headers, table = comparison_table([("shallow", shown), ("cnn", shown)])
    assert headers[0] == "model" and [row[0] for row in table] == ["shallow", "cnn", "gray baseline"]


def test_black_and_white_photos_have_no_scores():
    gray = np.repeat(smooth_colour_photo(60, 80)[..., :1], 3, axis=2)
    shown = showcase(gray, "shallow")
    assert shown.report is None and shown.truth is None
    assert comparison_table([("shallow", shown)]) == (["model"], [])


def test_model_guide_is_written_from_the_table():
    guide = model_guide()
    for name, spec in MODELS.items():
        assert f"**{name}**" in guide and spec.reference in guide and spec.bad_at in guide


def test_model_guide_gives_a_trained_model_the_scores_its_export_measured():
    import json

    from colorize.hub import CONFIG_FILE

    config_file = MODELS["shallow"].local_dir / CONFIG_FILE
    plain = config_file.read_text()
    scores = {"psnr": 23.63, "colourfulness": 10.6, "green_recall": 0.02, "blue_recall": 0.0}
    val = {"model": scores, "gray": {**scores, "psnr": 23.09}, "target_colourfulness": 39.8}
    try:
        config_file.write_text(json.dumps({**json.loads(plain), "val": val}))  # as train.export writes it
        sections = {section.split("**")[1]: section for section in model_guide().split("\n\n")}
    finally:
        config_file.write_text(plain)
    assert "PSNR 23.63 dB (gray 23.09), colourfulness 10.6 (real photos 39.8)" in sections["shallow"]
    assert "Measured" not in sections["cnn"] and "Measured" not in sections["levin"]  # no scores stored / no weights


def test_measured_scores_name_every_hint_count_and_stay_silent_without_an_evaluation():
    from colorize.showcase import measured_scores

    scores = {"psnr": 25.0, "colourfulness": 20.0, "green_recall": 0.5, "blue_recall": 0.25}
    val = {"model": scores, "gray": {**scores, "psnr": 23.0}, "target_colourfulness": 40.0}
    line = measured_scores({"val": val, "val_3_hints": {**val, "model": {**scores, "psnr": 27.5}}})
    assert "PSNR 25.00 dB (gray 23.00)" in line and "50% come out green, of the blue ones 25%" in line
    assert line.endswith("with 3 true-colour hints, PSNR 27.50 dB.")
    assert measured_scores({"arch": "cnn"}) == ""


def test_suggested_colour_is_the_automatic_models_colour_at_the_point(colour_photo):
    from colorize.pipeline import colorize_with_details
    from colorize.showcase import colour_at, preview, suggest_colour

    shown = preview(colorize_with_details(colour_photo, "default").colorized)
    assert suggest_colour(colour_photo, 30, 20) == colour_at(shown, 30, 20)
    assert colour_at(shown, 10_000, -5) == colour_at(shown, shown.shape[1] - 1, 0)  # clamped to the picture
    assert len(suggest_colour(colour_photo, 30, 20)) == 7


def test_scores_follow_the_prediction_not_the_preview_on_screen():
    from colorize.showcase import open_photo, predict, prediction_report

    photo = open_photo(smooth_colour_photo(683, 1024))  # the truth is scored at 256 x 383
    prediction = predict(photo, "shallow")
    report = prediction_report(prediction)
    colourless = prediction_report(prediction, saturation=0.0)
    assert colourless.model.psnr == pytest.approx(report.gray.psnr)  # no colour is exactly the gray baseline
    assert colourless.model.colourfulness == pytest.approx(report.gray.colourfulness)
    assert report.model.colourfulness > 0.0
    assert report.model.psnr != pytest.approx(colourless.model.psnr)

