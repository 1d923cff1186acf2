"""The studio's handlers: each turns widget values into one call of ``colorize.showcase``.

``app.py`` lays the page out and wires these in. A photo is opened once when it arrives
(``new_photo``) and kept per session as a small ``Photo`` (its preview and gray baseline); a
colorization is kept as a ``Prediction`` (the model's colour at the working size), so a new
colour strength, a stroke or a download never decodes the photo or runs the network again
without need. The page gets its errors as a sentence in the status line, which stays until
the next action; the API gets them as exceptions. Neither ever shows a server path.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
from gradio.utils import get_upload_folder
from PIL import Image

from colorize import ColorizeError, colorize_video, get_spec, has_weights
from colorize.files import save_png
from colorize.hints import HintInput, Point, parse_colour
from colorize.runtime import release_freed_memory
from colorize.showcase import (
    GUIDE_SIDE,
    METRIC_HEADERS,
    Photo,
    Prediction,
    available_guided_models,
    available_models,
    channel_gallery,
    clip_canvas,
    colorized_at,
    compare_models,
    comparison_table,
    full_resolution,
    guide_canvas,
    metric_rows,
    open_photo,
    painted_strokes,
    predict,
    prediction_report,
    render,
    suggest_colour,
)

NO_PHOTO = "Please upload a photo first (or click one of the examples)."
BLACK_AND_WHITE = ("This photo is black and white, so there are no true colours to compare with: no ground truth "
                   "and no scores. Judge the colours by eye, or upload a colour photo to see the scores.")
PALETTE = ["#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2e86de", "#8e44ad", "#e8b89a", "#8d5524"]
STROKE_OPACITY = 0.6  # strokes let the photo show through, so you see what you paint on
MAX_AGE_S = 3600
NO_CLIP = "Please upload a video clip first."
# Clips are coloured one at a time and take longer than they last on a CPU, so the length
# limit keeps the wait of whoever is queued behind one clip to minutes.
MAX_CLIP_SECONDS = 60

# Files are written straight into Gradio's cache folder, which Gradio then serves as they are
# (anything elsewhere it would hash and copy: every picture stored twice). Folders older than
# an hour go as new ones are written, and the whole folder when the server stops.
Path(get_upload_folder()).mkdir(parents=True, exist_ok=True)
SCRATCH = Path(tempfile.mkdtemp(prefix="colorize-studio-", dir=get_upload_folder()))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s\"']+)+[\\/]([^\\/\s\"']+)")


class StudioError(ColorizeError):
    """Something the person can fix on the page (no photo yet, a malformed point)."""


def plain(error: Exception) -> str:
    """The error's sentence with every server path cut down to its file name."""
    return _PATH.sub(r"\1", str(error))


def for_page(handler: Callable, outputs: int) -> Callable:
    """The page's version of a handler: on failure the status line says why (and stays until
    the next action) and the ``outputs`` results are cleared, instead of red badges on each."""

    @functools.wraps(handler)
    def run(*args, **kwargs):
        try:
            return (*handler(*args, **kwargs), "")
        except ColorizeError as error:
            return (*[None] * outputs, plain(error))
        finally:
            release_freed_memory()

    return run


def for_api(handler: Callable) -> Callable:
    """The API's version of a handler: failures are raised as Gradio errors, in plain words."""

    @functools.wraps(handler)
    def run(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except ColorizeError as error:
            raise gr.Error(plain(error), duration=None) from error
        finally:
            release_freed_memory()

    return run


def png_file(image: np.ndarray | None, name: str) -> str | None:
    """An image as a PNG file in Gradio's cache (written once, at ``save_png``'s fast level)."""
    if image is None:
        return None
    path = fresh_folder() / f"{name}.png"
    save_png(Image.fromarray(image), path)
    return str(path)


def fresh_folder() -> Path:
    """A new folder in Gradio's cache for one result, each name kept as it is (two photos
    called grandma.jpg never share a file); folders older than ``MAX_AGE_S`` go first."""
    now = time.time()
    for old in SCRATCH.iterdir():
        with contextlib.suppress(FileNotFoundError):  # another request may be sweeping too
            if now - old.stat().st_mtime > MAX_AGE_S:
                shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=SCRATCH))


def model_choices(names: list[str]) -> list[tuple[str, str]]:
    """Dropdown entries "name: what it is" for the models that can run here."""
    return [(f"{name}: {get_spec(name).description}", name) for name in names if has_weights(name)]


def brush(colour: str | None = None) -> gr.Brush:
    """The guided canvas's brush: semi-transparent paint, the picked colour first."""
    colours = ([colour] if colour else []) + PALETTE
    return gr.Brush(colors=[(c, STROKE_OPACITY) for c in colours], default_color=(colours[0] if colour else PALETTE[4], STROKE_OPACITY),
                    color_mode="defaults")


def _photo(path: str | None, kept: Photo | None) -> Photo:
    """The session's opened photo, or the photo at ``path`` (an API call has no session)."""
    if kept is not None and (path is None or str(kept.source) == str(path)):
        return kept
    if not path:
        raise StudioError(NO_PHOTO)
    return open_photo(path)


def _stem(photo: Photo) -> str:
    return Path(str(photo.source)).stem if isinstance(photo.source, (str, Path)) else "photo"


# --- the photo ----------------------------------------------------------------------------------


def new_photo(path: str | None):
    """A new photo clears every old result and goes on the guided canvas.

    Returns (photo input, Photo, canvas, status). An unreadable file is taken off the input
    (no broken-image icon) and the status line says what is wrong with it.
    """
    if not path:
        return gr.update(), None, None, gr.update()
    try:
        photo = open_photo(path)
    except ColorizeError as error:
        return None, None, None, plain(error)
    finally:
        release_freed_memory()
    return gr.update(), photo, clear_paint(photo), ""


# --- Colorize tab -------------------------------------------------------------------------------


def _scores(prediction: Prediction, saturation: float):
    """Previews and scores at a colour strength: (colorized, slider, truth, note, table)."""
    shown = render(prediction, saturation)
    colorized, gray = png_file(shown.colorized, "colorized"), png_file(shown.gray, "gray")
    if shown.report is None:
        return colorized, (gray, colorized), gr.update(value=None, visible=False), BLACK_AND_WHITE, gr.update(value=None, visible=False)
    table = pd.DataFrame(metric_rows(shown.report), columns=METRIC_HEADERS)
    return colorized, (gray, colorized), gr.update(value=png_file(shown.truth, "truth"), visible=True), "", gr.update(value=table, visible=True)


def colorize_photo(path: str | None, kept: Photo | None, model: str, saturation: float, working_size: int | None):
    """Colorize button: (prediction, colorized, before/after, truth, note, scores). The
    full-resolution file follows from ``download`` (a 24-megapixel PNG takes seconds)."""
    prediction = predict(_photo(path, kept), model, working_size or None)
    return (prediction, *_scores(prediction, saturation))


def recolour(prediction: Prediction | None, saturation: float):
    """Colour strength moved: redraw from the kept prediction (no network, no decoding)."""
    if prediction is None:
        return (gr.update(),) * 5
    return _scores(prediction, saturation)


def download(prediction: Prediction | None, saturation: float) -> str | None:
    """The full-resolution result as a PNG (the preview's file when the photo is that small)."""
    if prediction is None:
        return None
    return png_file(full_resolution(prediction, saturation), f"{_stem(prediction.photo)}-colorized")


def colorize_api(path: str | None, model: str, saturation: float, working_size: int | None):
    """``/colorize``: the full-resolution result, the note and the scores in one call.

    Scoring is plain numpy and PNG encoding is zlib, both single-threaded: once the network
    has run on both cores, the scores are made on a helper thread while this one draws the
    full-size result and writes its PNG.
    """
    prediction = predict(_photo(path, None), model, working_size or None)
    with ThreadPoolExecutor(1) as helper:
        scoring = helper.submit(prediction_report, prediction, saturation)
        written = download(prediction, saturation)
        report = scoring.result()
    if report is None:
        return written, BLACK_AND_WHITE, None
    return written, "", pd.DataFrame(metric_rows(report), columns=METRIC_HEADERS)


# --- Guided tab ---------------------------------------------------------------------------------


def _guided_note(prediction: Prediction, painted: bool, engine: str, saturation: float) -> tuple[str, str]:
    """The canvas-sized result and what it shows: (picture, note)."""
    colorized = colorized_at(prediction, saturation, GUIDE_SIDE)
    report = prediction_report(prediction, saturation)
    if painted:
        note = "Coloured with your colours."
    elif get_spec(engine).automatic:
        note = "No paint yet: these are the model's own colours."
    else:
        note = "No paint yet: this engine only spreads colours you give it, so the photo stays gray."
    if report is not None:
        note += f" PSNR {report.model.psnr:.2f} dB against the real colours (gray baseline {report.gray.psnr:.2f} dB)."
    return png_file(colorized, "guided"), note


def guide(kept: Photo | None, canvas: dict | None, engine: str, saturation: float):
    """A stroke (or the button): the preview follows the paint; (prediction, picture, note).

    Works on the canvas-sized photo only, so a stroke on a 6000x4000 scan costs what it costs
    on a small photo; the full-resolution file is made by ``download`` when asked for.
    """
    if kept is None:
        raise StudioError(NO_PHOTO)
    layers = (canvas or {}).get("layers") or [None]
    strokes = painted_strokes(layers[0])
    prediction = predict(kept, engine, hints=strokes)
    return (prediction, *_guided_note(prediction, strokes is not None, engine, saturation))


def read_points(points: list | dict | None) -> list[Point] | None:
    """API points ``[{"x": 420, "y": 610, "color": "#2a5adc"}, ...]`` in photo pixels, as the CLI reads them."""
    if not points:
        return None
    entries = points.get("points", []) if isinstance(points, dict) else points
    try:
        return [Point(float(entry["x"]), float(entry["y"]), parse_colour(entry.get("color", entry.get("rgb")))) for entry in entries]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise StudioError('Points must look like [{"x": 420, "y": 610, "color": "#2a5adc"}] '
                          f"(x, y in photo pixels); this one could not be read: {error}.") from error


def guided_api(path: str | None, points: list | dict | None, engine: str, saturation: float):
    """``/guided``: colour points in, the full-resolution result and a note out."""
    hints = read_points(points)
    prediction = predict(_photo(path, None), engine, hints=hints)
    _, note = _guided_note(prediction, hints is not None, engine, saturation)
    return download(prediction, saturation), note


def pick_colour(kept: Photo | None, event: gr.SelectData):
    """The automatic model's colour where the result was clicked becomes the brush colour."""
    if kept is None:
        raise StudioError(NO_PHOTO)
    colour = suggest_colour(kept, *event.index, model=available_models()[0], side=GUIDE_SIDE)
    return colour, gr.ImageEditor(brush=brush(colour))


def clear_paint(kept: Photo | None):
    """The gray photo back on the canvas, with no paint."""
    if kept is None:
        return None
    gray = guide_canvas(kept)
    return {"background": gray, "layers": [], "composite": gray}


# --- Compare and Learn tabs ---------------------------------------------------------------------


def compare_all(path: str | None, kept: Photo | None, saturation: float):
    """Every model with weights on the same photo, with its scores: (gallery, table)."""
    results = compare_models(_photo(path, kept), available_models(), saturation)
    headers, rows = comparison_table(results)
    gallery = [(png_file(shown.colorized, name), f"{name}: {get_spec(name).description}") for name, shown in results]
    return gallery, pd.DataFrame(rows, columns=headers)


def show_channels(path: str | None, kept: Photo | None, model: str, saturation: float):
    """L, a and b of the photo and of the model's colours: (gallery,)."""
    pictures = channel_gallery(_photo(path, kept), model, saturation)
    return ([(png_file(picture, f"channel-{i}"), caption) for i, (picture, caption) in enumerate(pictures)],)


# --- Video tab ----------------------------------------------------------------------------------


def new_clip(path: str | None):
    """A new clip: the old results go, and its first frame (gray, upright) is put on the hint
    canvas; (coloured clip, strip, download, canvas)."""
    if not path:
        return None, None, None, None
    gray = clip_canvas(path)
    return None, None, None, {"background": gray, "layers": [], "composite": gray}


def colorize_clip(path: str | None, model: str, canvas: dict | None = None,
                  progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:
    """Colorize button of the Video tab: (coloured clip, still strip, the clip as a download).

    Paint on the first frame is carried through the clip as colour hints. The MP4 is H.264 +
    AAC, which browsers play as is, so Gradio serves the file written here without converting
    or copying it. Progress counts frames; a clip whose header gives no frame count shows the
    count alone.
    """
    layers = (canvas or {}).get("layers") or [None]
    return _colour_clip(path, model, painted_strokes(layers[0]), progress)


def video_api(path: str | None, model: str, points: list | dict | None = None,
              progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:
    """``/video``: a clip and, optionally, colour points on its first frame as it is shown."""
    return _colour_clip(path, model, read_points(points), progress)


def _colour_clip(path: str | None, model: str, hints: HintInput | None, progress: gr.Progress) -> tuple[str, str, str]:
    if not path:
        raise StudioError(NO_CLIP)
    if hints is not None and not get_spec(model).guided:
        model = available_guided_models()[0]  # the painted colours need a model that reads them
    result = colorize_video(path, fresh_folder() / f"{Path(path).stem}-colorized.mp4", model, hints=hints,
                            max_seconds=MAX_CLIP_SECONDS,
                            progress=lambda done, total: progress((done, total or None), unit="frames"))
    return str(result.path), png_file(result.strip, "strip"), str(result.path)
