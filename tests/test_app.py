"""The studio: its handlers (studio.py) called directly, then a real server through gradio_client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np
import pytest
from gradio.utils import get_upload_folder
from gradio_client import Client, handle_file
from PIL import Image

import app
import studio
from colorize.color import image_to_lab
from colorize.showcase import GUIDE_SIDE, PREVIEW_SIDE, available_guided_models, available_models, guide_canvas
from colorize.video import STRIP_HEIGHT
from colorize.zoo import MODELS, ModelSpec, register_model
from conftest import free_port, smooth_colour_photo
from test_video import panning, write_clip

ROOT = Path(__file__).resolve().parent.parent


def pixels(path: str) -> np.ndarray:
    """The RGB pixels of a PNG file a handler wrote for Gradio to serve."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def opened(path) -> studio.Photo:
    _, photo, canvas, status = studio.new_photo(str(path))
    assert status == "" and np.array_equal(canvas["background"], guide_canvas(photo))
    return photo


def chroma(picture: np.ndarray) -> np.ndarray:
    return np.hypot(*image_to_lab(picture)[..., 1:].transpose(2, 0, 1))


@pytest.fixture
def untrained_model():
    """A row of the table with no weights anywhere, as unet-gan was before it was trained."""
    spec = register_model(ModelSpec(name="untrained-test", arch="unet", description="not trained", reference="-",
                                    good_at="-", bad_at="-"))
    yield spec.name
    del MODELS[spec.name]


# --- handlers -----------------------------------------------------------------------------------


def test_colour_photo_gives_previews_scores_and_a_full_size_download(colour_photo):
    photo = opened(colour_photo)
    prediction, colour, slider, truth, note, table = studio.colorize_photo(str(colour_photo), photo, "unet", 1.0, 256)
    size = Image.open(colour_photo).size[::-1]
    assert pixels(colour).shape[:2] == pixels(truth["value"]).shape[:2] == size and truth["visible"]
    assert np.array_equal(pixels(truth["value"]), np.asarray(Image.open(colour_photo).convert("RGB")))
    assert slider[1] == colour and note == ""
    rows = table["value"].values.tolist()
    assert [row[0].split(" ")[0] for row in rows] == ["PSNR", "SSIM", "Colourfulness", "CIEDE2000", "AuC"]
    assert all(isinstance(row[1], float) and isinstance(row[2], float) for row in rows)
    full = Image.open(studio.download(prediction, 1.0))
    assert full.format == "PNG" and full.size == Image.open(colour_photo).size


def test_black_and_white_photo_hides_truth_and_scores_and_says_why(gray_photo):
    _, colour, _, truth, note, table = studio.colorize_photo(str(gray_photo), opened(gray_photo), "unet", 1.0, 256)
    assert truth == {"__type__": "update", "value": None, "visible": False} and table["visible"] is False
    assert "black and white" in note and "no scores" in note and "colour photo" in note
    assert pixels(colour).shape[:2] == Image.open(gray_photo).size[::-1]


def test_colour_strength_redraws_from_the_kept_prediction_without_the_network(colour_photo, monkeypatch):
    prediction = studio.colorize_photo(str(colour_photo), opened(colour_photo), "unet", 1.0, 256)[0]
    monkeypatch.setattr("colorize.showcase.predict_colour", lambda *a, **k: pytest.fail("the network ran again"))
    gray_colour, _, _, _, table = studio.recolour(prediction, 0.0)
    assert chroma(pixels(gray_colour)).max() < 1.0
    assert table["value"].values[0][1] == table["value"].values[0][2]  # no colour: exactly the gray baseline's PSNR
    assert chroma(pixels(studio.download(prediction, 0.0))).max() < 1.0
    assert studio.recolour(None, 0.5)[0] == {"__type__": "update"}  # nothing colorized yet: nothing to redraw


def test_big_photo_is_kept_small_and_read_again_only_for_the_download(tmp_path):
    path = tmp_path / "scan.jpg"
    Image.fromarray(smooth_colour_photo(1500, 2400)).save(path, quality=90)
    photo = opened(path)
    assert max(photo.preview.shape[:2]) == PREVIEW_SIDE and photo.size == (1500, 2400)
    canvas = studio.clear_paint(photo)
    assert max(canvas["background"].shape[:2]) == GUIDE_SIDE  # strokes are drawn on a canvas-sized photo
    layer = np.zeros((*canvas["background"].shape[:2], 4), np.uint8)
    layer[100:200, 200:300] = (30, 80, 220, 153)  # a semi-transparent blue stroke
    canvas["layers"] = [layer]
    prediction, result, note = studio.guide(photo, canvas, "levin", 1.0)
    assert pixels(result).shape[:2] == layer.shape[:2] and "your colours" in note
    assert image_to_lab(pixels(result))[150, 250, 2] < -15  # blue where painted
    assert Image.open(studio.download(prediction, 1.0)).size == (2400, 1500)


def test_a_new_photo_clears_every_result_and_a_bad_one_is_taken_off_the_input(tmp_path, colour_photo):
    assert len(app.demo.fns) and studio.new_photo(None) == ({"__type__": "update"}, None, None, {"__type__": "update"})
    bad = tmp_path / "holiday.png"
    bad.write_bytes(b"just some text, no pixels")
    photo, kept, canvas, status = studio.new_photo(str(bad))
    assert photo is None and kept is None and canvas is None  # no broken-image icon left behind
    assert '"holiday.png" is not an image' in status and str(tmp_path) not in status


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"just some text, no pixels", "not an image"),
    (None, "damaged"),  # a truncated JPEG, built in the test
])
def test_bad_uploads_get_a_plain_sentence_without_server_paths(tmp_path, colour_photo, content, words):
    path = tmp_path / "upload.jpg"
    path.write_bytes(colour_photo.read_bytes()[:300] if content is None else content)
    *cleared, status = studio.for_page(studio.colorize_photo, 6)(str(path), None, "unet", 1.0, 256)
    assert cleared == [None] * 6 and words in status and "upload.jpg" in status
    assert "/" not in status.replace("JPEG or PNG", "")


def test_missing_photo_is_explained_on_the_page_and_in_the_api():
    assert "upload a photo" in studio.for_page(studio.colorize_photo, 6)(None, None, "unet", 1.0, 256)[-1]
    with pytest.raises(Exception, match="upload a photo"):
        studio.for_api(studio.colorize_api)(None, "unet", 1.0, 256)


def test_paths_are_cut_to_file_names():
    message = studio.plain(ValueError('The file "/tmp/gradio/3f2a/grandma.jpg" is damaged; see /srv/app/checkpoints/unet.'))
    assert message == 'The file "grandma.jpg" is damaged; see unet.'


def test_only_models_with_weights_are_offered(untrained_model):
    assert untrained_model not in available_models() and untrained_model not in dict(
        (value, label) for label, value in studio.model_choices(list(MODELS)))
    labels = dict((value, label) for label, value in studio.model_choices(available_models()))
    assert list(labels) == available_models() and all(MODELS[name].description in labels[name] for name in labels)
    assert "levin" in available_guided_models()


def test_served_files_are_written_once_into_gradios_cache_and_old_ones_deleted():
    image = np.full((4, 6, 3), 120, np.uint8)
    old, fresh = Path(studio.png_file(image, "old")), Path(studio.png_file(image, "fresh"))
    assert studio.SCRATCH.parent == Path(get_upload_folder()) and old.is_relative_to(studio.SCRATCH)
    hours_ago = time.time() - studio.MAX_AGE_S - 60
    os.utime(old.parent, (hours_ago, hours_ago))
    newest = Path(studio.png_file(image, "newest"))
    assert not old.parent.exists() and fresh.is_file() and newest.is_file()
    assert np.array_equal(pixels(str(newest)), image)


def test_compare_runs_every_model_with_weights_and_scores_each(colour_photo):
    gallery, table = studio.compare_all(str(colour_photo), None, 1.0)
    assert all(pixels(path).shape[:2] == Image.open(colour_photo).size[::-1] for path, _ in gallery)
    assert [caption.split(":")[0] for _, caption in gallery] == available_models()
    assert table["model"].tolist() == available_models() + ["gray baseline"]


def test_learn_tab_shows_l_a_b_of_input_and_prediction(colour_photo):
    (pictures,) = studio.show_channels(str(colour_photo), opened(colour_photo), "unet", 1.0)
    captions = [caption for _, caption in pictures]
    assert len(pictures) == 6 and captions[0].startswith("input L") and captions[3].startswith("prediction L")


def test_guided_canvas_starts_gray_and_the_brush_is_semi_transparent(colour_photo):
    canvas = studio.clear_paint(opened(colour_photo))
    assert chroma(canvas["background"]).max() < 1.0 and canvas["layers"] == []
    assert all(0 < opacity < 1 for _, opacity in studio.brush("#123456").colors)
    assert studio.brush("#123456").default_color == ("#123456", studio.STROKE_OPACITY)


def test_guided_follows_the_paint_and_needs_a_photo(colour_photo):
    photo = opened(colour_photo)
    _, unpainted, note = studio.guide(photo, studio.clear_paint(photo), "levin", 1.0)
    assert "stays gray" in note and chroma(pixels(unpainted)).max() < 1.0
    assert "upload a photo" in studio.for_page(studio.guide, 3)(None, None, "levin", 1.0)[-1]


@pytest.mark.parametrize("points", [[{"x": 1}], [{"x": 1, "y": 2, "color": "blue"}], "nonsense"])
def test_malformed_points_are_explained(points):
    with pytest.raises(studio.StudioError, match="Points must look like"):
        studio.read_points(points)


def test_a_clip_reports_its_progress_in_frames(tmp_path):
    calls = []
    source = write_clip(tmp_path / "film.mp4", panning(6, height=32, width=48))
    studio.colorize_clip(str(source), "shallow", progress=lambda *args, **kwargs: calls.append((args, kwargs)))
    assert calls == [(((done, 6),), {"unit": "frames"}) for done in range(1, 7)]


def test_a_bad_or_missing_clip_is_explained_on_the_status_line(tmp_path):
    corrupt = tmp_path / "holiday.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    *cleared, status = studio.for_page(studio.colorize_clip, 3)(str(corrupt), "shallow")
    assert cleared == [None] * 3 and '"holiday.mp4" is not a video we can read' in status and "/" not in status
    assert studio.for_page(studio.colorize_clip, 3)(None, "shallow")[-1] == studio.NO_CLIP


# --- a real server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(studio_url, tmp_path_factory):
    client = Client(studio_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))
    yield client
    client.close()


def test_endpoints_have_named_inputs_and_outputs(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/colorize", "/compare", "/channels", "/guided", "/video"} == set(endpoints)
    labels = [part["label"] for endpoint in endpoints.values() for part in endpoint["parameters"] + endpoint["returns"]]
    assert not [label for label in labels if label.startswith("value_")]
    assert [part["label"] for part in endpoints["/guided"]["parameters"]][:2] == ["Your photo", "Points"]


def test_colorize_through_the_api_serves_each_file_once(client, colour_photo):
    before = set(Path(get_upload_folder()).rglob("*-colorized.png"))
    download, note, table = client.predict(handle_file(str(colour_photo)), "unet", 1.0, 256, api_name="/colorize")
    assert Image.open(download).size == Image.open(colour_photo).size and note == ""
    assert table["headers"][:3] == ["metric", "prediction", "gray baseline"]
    written = set(Path(get_upload_folder()).rglob("*-colorized.png")) - before
    assert len(written) == 1 and next(iter(written)).is_relative_to(studio.SCRATCH)  # no copy by Gradio


def test_guided_through_the_api_takes_points(client, colour_photo):
    points = [{"x": 60, "y": 45, "color": "#dc2828"}]
    download, note = client.predict(handle_file(str(colour_photo)), points, "levin", 1.0, api_name="/guided")
    assert image_to_lab(np.asarray(Image.open(download).convert("RGB")))[45, 60, 1] > 15  # red where pointed
    assert "your colours" in note and Image.open(download).size == Image.open(colour_photo).size


@pytest.mark.parametrize("content, words", [
    (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "not an image|damaged"),
    (b"a text file, renamed", "not an image"),  # Gradio itself would fail to open it: colorize must see it
])
def test_server_answers_a_bad_upload_in_plain_words_and_stays_up(client, tmp_path, colour_photo, content, words):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    with pytest.raises(Exception, match=words) as caught:
        client.predict(handle_file(str(bad)), "unet", 1.0, 256, api_name="/colorize")
    assert "/" not in str(caught.value).replace("JPEG or PNG", "")
    download = client.predict(handle_file(str(colour_photo)), "unet", 1.0, 256, api_name="/colorize")[0]
    assert Image.open(download).size == Image.open(colour_photo).size


def test_an_oversized_clip_is_refused_before_it_is_sent_and_the_server_stays_up(client, tmp_path):
    huge = tmp_path / "huge-film.mp4"
    with huge.open("wb") as file:
        file.truncate(61 * 1024 * 1024)  # one MB over the 60 MB the page states
    with pytest.raises(ValueError, match=f"exceeds the maximum file size of {60 * 1024 * 1024} bytes"):
        client.predict(handle_file(str(huge)), "shallow", api_name="/video")
    source = write_clip(tmp_path / "film.mp4", panning(6, height=32, width=48))
    assert Path(client.predict(handle_file(str(source)), "shallow", api_name="/video")[2]).is_file()


def test_a_clip_through_the_api_comes_back_as_h264_with_its_sound_and_a_strip(client, tmp_path):
    source = write_clip(tmp_path / "film.mp4", panning(6, height=32, width=48))
    coloured, strip, download = client.predict(handle_file(str(source)), "shallow", api_name="/video")
    assert Path(download).name == "film-colorized.mp4" and Path(coloured).read_bytes() == Path(download).read_bytes()
    with av.open(download) as container:
        assert container.streams.video[0].codec_context.name == "h264" and len(container.streams.audio) == 1
        assert [(frame.width, frame.height) for frame in container.decode(video=0)] == [(48, 32)] * 6
    assert Image.open(strip).height == 2 * STRIP_HEIGHT


def test_points_on_a_clips_first_frame_colour_it_through_the_api(client, tmp_path):
    """Points on the first frame as it is shown; a model that reads no hints hands over to the guided one."""
    gray = [np.repeat(f.mean(axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1) for f in panning(6, height=48, width=64, step=1)]
    source = write_clip(tmp_path / "film.mp4", gray, rotation=90)
    points = [{"x": 24, "y": 8, "color": "#dc2828"}, {"x": 24, "y": 56, "color": "#28b46e"}]
    download = client.predict(handle_file(str(source)), "shallow", points, api_name="/video")[2]
    with av.open(download) as container:
        frames = [image_to_lab(np.rot90(frame.to_ndarray(format="rgb24"), 1).copy()) for frame in container.decode(video=0)]
    assert len(frames) == 6 and frames[0].shape[:2] == (64, 48)
    # red on top, green below, upright (the test weights are random: their features cannot tell
    # top from bottom, so corrections by likeness mix the two hints and only the order is sure)
    assert all(f[:12, :, 1].mean() > f[-12:, :, 1].mean() + 10 for f in frames)


def test_a_new_clip_puts_its_first_frame_gray_and_upright_on_the_hint_canvas(tmp_path):
    source = write_clip(tmp_path / "phone.mp4", panning(3, height=48, width=96), rotation=90)
    *cleared, canvas = studio.new_clip(str(source))
    assert cleared == [None] * 3 and canvas["layers"] == []
    background = canvas["background"]
    assert background.shape[:2] == (96, 48) and np.ptp(background.astype(int), axis=-1).max() <= 1  # portrait, gray
    *_, status = studio.for_page(studio.new_clip, 4)(str(tmp_path / "missing.mp4"))
    assert "no video file" in status and "/" not in status


def test_server_answers_a_corrupt_clip_in_plain_words_and_stays_up(client, tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(Exception, match='"corrupt.mp4" is not a video we can read') as caught:
        client.predict(handle_file(str(corrupt)), "shallow", api_name="/video")
    assert "/" not in str(caught.value)
    source = write_clip(tmp_path / "film.mp4", panning(6, height=32, width=48))
    assert Path(client.predict(handle_file(str(source)), "shallow", api_name="/video")[2]).is_file()


def test_a_model_without_weights_is_refused_in_one_line(untrained_model, colour_photo):
    demo = app.build_demo()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.LAUNCH)
    own = Client(f"http://127.0.0.1:{port}/", verbose=False)
    try:
        with pytest.raises(Exception) as caught:
            own.predict(handle_file(str(colour_photo)), untrained_model, 1.0, 256, api_name="/colorize")
    finally:
        own.close()
        demo.close()
    message = str(caught.value)
    assert untrained_model in message and "\n" not in message and "/" not in message


def test_eight_concurrent_clients_all_get_their_own_answer(studio_url, tmp_path):
    sizes = [(40 + 7 * i, 30 + 5 * i) for i in range(8)]
    paths = []
    for i, size in enumerate(sizes):
        noise = np.random.default_rng(i).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        paths.append(tmp_path / f"photo{i}.png")
        Image.fromarray(noise).save(paths[-1])

    def colorize(path):
        own = Client(studio_url, verbose=False, download_files=str(tmp_path))
        try:
            return own.predict(handle_file(str(path)), "shallow", 1.0, 64, api_name="/colorize")
        finally:
            own.close()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(colorize, paths))
    for size, (download, _, table) in zip(sizes, answers):
        assert Image.open(download).size == size and table["data"][0][0] == "PSNR (dB)"


def test_a_stopped_server_removes_its_files(tmp_path, colour_photo):
    port = free_port()
    cache = tmp_path / "cache"
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "GRADIO_TEMP_DIR": str(cache)}
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        own = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path / "downloads"))
        own.predict(handle_file(str(colour_photo)), "shallow", 1.0, 64, api_name="/colorize")
        own.close()
        assert list(cache.glob("colorize-studio-*/*/*-colorized.png"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert not list(cache.glob("colorize-studio-*"))
