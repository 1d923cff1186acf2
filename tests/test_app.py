"""The studio: its handlers called directly, then a real server called through gradio_client."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

import app
from colorize.color import image_to_lab
from colorize.zoo import MODELS, list_models

no_progress = lambda *args, **kwargs: None  # noqa: E731  (handlers take a gr.Progress)


def pixels(path: str) -> np.ndarray:
    """The RGB pixels of a PNG file a handler wrote for Gradio to serve."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_colour_upload_gives_three_images_scores_and_a_full_size_download(colour_photo):
    gray, colour, truth, slider, note, table, download = app.colorize_photo(str(colour_photo), "unet", 1.0, 256, no_progress)
    size = Image.open(colour_photo).size[::-1]
    assert pixels(gray).shape[:2] == pixels(colour).shape[:2] == pixels(truth).shape[:2] == size
    assert np.array_equal(pixels(truth), np.asarray(Image.open(colour_photo).convert("RGB")))
    assert slider == (gray, colour)
    assert "gray baseline" in note
    rows = table.values.tolist()
    assert [row[0].split(" ")[0] for row in rows] == ["PSNR", "SSIM", "Colourfulness", "CIEDE2000", "AuC"]
    assert all(isinstance(row[1], float) and isinstance(row[2], float) for row in rows)
    full = Image.open(download)
    assert full.format == "PNG" and full.size == Image.open(colour_photo).size


def test_black_and_white_upload_has_no_ground_truth_and_no_scores(gray_photo):
    _, colour, truth, _, note, table, _ = app.colorize_photo(str(gray_photo), "unet", 1.0, 256, no_progress)
    assert truth is None and table.empty
    assert "black and white" in note and "no scores" in note
    assert pixels(colour).shape[:2] == Image.open(gray_photo).size[::-1]


def test_saturation_zero_gives_the_gray_image(colour_photo):
    gray, colour = map(pixels, app.colorize_photo(str(colour_photo), "unet", 0.0, 256, no_progress)[:2])
    chroma = np.hypot(*image_to_lab(colour)[..., 1:].transpose(2, 0, 1))
    assert chroma.max() < 1.0
    assert np.abs(colour.astype(int) - gray.astype(int)).max() <= 1


def test_served_files_older_than_the_limit_are_deleted_as_new_ones_arrive():
    image = np.full((4, 6, 3), 120, np.uint8)
    old, fresh = Path(app.png_file(image, "old")), Path(app.png_file(image, "fresh"))
    hours_ago = time.time() - app.SCRATCH_MAX_AGE_S - 60
    os.utime(old.parent, (hours_ago, hours_ago))
    newest = Path(app.png_file(image, "newest"))
    assert not old.parent.exists() and fresh.is_file() and newest.is_file()
    assert np.array_equal(pixels(str(newest)), image)


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"just some text, no pixels", "not an image"),
    (None, "damaged"),  # a truncated JPEG, built in the test
])
def test_bad_uploads_get_a_plain_error(tmp_path, colour_photo, content, words):
    path = tmp_path / "upload.jpg"
    if content is None:
        content = colour_photo.read_bytes()[:300]
    path.write_bytes(content)
    with pytest.raises(gr.Error) as caught:
        app.colorize_photo(str(path), "unet", 1.0, 256, no_progress)
    assert words in caught.value.message


def test_missing_upload_is_explained():
    with pytest.raises(gr.Error, match="upload a photo"):
        app.colorize_photo(None, "unet", 1.0, 256, no_progress)


def test_model_dropdown_lists_every_model_with_its_description():
    choices = dict((value, label) for label, value in app.model_choices(list_models()))
    assert list(choices) == list_models()
    for name, label in choices.items():
        assert MODELS[name].description in label


def test_compare_runs_every_model_and_scores_each(colour_photo):
    gallery, table = app.compare_all(str(colour_photo), 1.0, no_progress)
    assert all(pixels(path).shape[:2] == Image.open(colour_photo).size[::-1] for path, _ in gallery)
    assert [caption for _, caption in gallery] == ["unet", *[name for name in list_models() if name != "unet"]]
    assert table["model"].tolist() == [caption for _, caption in gallery] + ["gray baseline"]


def test_learn_tab_shows_l_a_b_of_input_and_prediction(colour_photo):
    pictures = app.show_channels(str(colour_photo), "unet", 1.0)
    captions = [caption for _, caption in pictures]
    assert all(pixels(path).shape[:2] == Image.open(colour_photo).size[::-1] for path, _ in pictures)
    assert len(pictures) == 6 and captions[0].startswith("input L") and captions[3].startswith("prediction L")


def painted_layer(size: tuple[int, int], box: tuple[slice, slice], rgb: tuple[int, int, int]) -> np.ndarray:
    layer = np.zeros((*size, 4), np.uint8)
    layer[box] = (*rgb, 255)
    return layer


def test_guided_tab_puts_the_gray_photo_on_the_canvas(colour_photo, tmp_path):
    canvas = app.start_guiding(str(colour_photo))
    background = canvas["background"]
    assert background.shape[:2] == np.asarray(Image.open(colour_photo)).shape[:2]
    assert np.abs(image_to_lab(background)[..., 1:]).max() < 1.0 and canvas["layers"] == []
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a photo")
    assert app.start_guiding(str(broken)) is None and app.start_guiding(None) is None


def test_guided_tab_follows_the_paint(colour_photo):
    canvas = app.start_guiding(str(colour_photo))
    unpainted, note, _ = app.colorize_guided(str(colour_photo), canvas, "levin", 1.0)
    assert "stays gray" in note and np.abs(image_to_lab(pixels(unpainted))[..., 1:]).max() < 1.0
    size = canvas["background"].shape[:2]
    canvas["layers"] = [painted_layer(size, (slice(30, 60), slice(40, 80)), (30, 80, 220))]
    painted, note, download = app.colorize_guided(str(colour_photo), canvas, "levin", 1.0)
    assert "your strokes" in note and "PSNR" in note
    assert image_to_lab(pixels(painted))[45, 60, 2] < -15  # blue where painted
    assert Image.open(download).size == Image.open(colour_photo).size


def test_guided_tab_without_a_photo_is_explained():
    with pytest.raises(gr.Error, match="upload a photo"):
        app.colorize_guided(None, None, "levin", 1.0)


# --- a real server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(studio_url):
    client = Client(studio_url, verbose=False)
    yield client
    client.close()


def test_named_endpoints_exist(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/colorize", "/compare", "/channels", "/guided"} <= set(endpoints)


def test_guided_through_the_api(client, colour_photo, tmp_path):
    canvas = app.start_guiding(str(colour_photo))
    background, layer = tmp_path / "background.png", tmp_path / "layer.png"
    Image.fromarray(canvas["background"]).save(background)
    Image.fromarray(painted_layer(canvas["background"].shape[:2], (slice(30, 60), slice(40, 80)), (220, 40, 40))).save(layer)
    editor = {"background": handle_file(str(background)), "layers": [handle_file(str(layer))], "composite": None}
    result, note, download = client.predict(handle_file(str(colour_photo)), editor, "levin", 1.0, api_name="/guided")
    assert image_to_lab(np.asarray(Image.open(result).convert("RGB")))[45, 60, 1] > 15  # red where painted
    assert "your strokes" in note
    assert Image.open(download).size == Image.open(colour_photo).size


def test_colorize_through_the_api(client, colour_photo):
    gray, colour, truth, slider, note, table, download = client.predict(
        handle_file(str(colour_photo)), "unet", 1.0, 256, api_name="/colorize")
    assert Image.open(colour).size == Image.open(truth).size == Image.open(colour_photo).size
    assert table["headers"][:3] == ["metric", "prediction", "gray baseline"]
    assert Image.open(download).size == Image.open(colour_photo).size


@pytest.mark.parametrize("content, words", [
    (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "not an image|damaged"),
    (b"a text file, renamed", "not an image"),  # Gradio itself would fail to open it: colorize must see it
])
def test_server_answers_a_bad_upload_in_plain_words_and_stays_up(client, tmp_path, colour_photo, content, words):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    with pytest.raises(Exception, match=words):
        client.predict(handle_file(str(bad)), "unet", 1.0, 256, api_name="/colorize")
    colour = client.predict(handle_file(str(colour_photo)), "unet", 1.0, 256, api_name="/colorize")[1]
    assert Image.open(colour).size == Image.open(colour_photo).size


def test_eight_concurrent_clients_all_get_their_own_answer(studio_url, tmp_path):
    sizes = [(40 + 7 * i, 30 + 5 * i) for i in range(8)]
    paths = []
    for i, size in enumerate(sizes):
        noise = np.random.default_rng(i).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        paths.append(tmp_path / f"photo{i}.png")
        Image.fromarray(noise).save(paths[-1])

    def colorize(path):
        own = Client(studio_url, verbose=False)
        try:
            return own.predict(handle_file(str(path)), "shallow", 1.0, 64, api_name="/colorize")
        finally:
            own.close()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(colorize, paths))
    for size, answer in zip(sizes, answers):
        assert Image.open(answer[1]).size == size
        assert Image.open(answer[6]).size == size
        assert answer[5]["data"][0][0] == "PSNR (dB)"
