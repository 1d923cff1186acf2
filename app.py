"""colorize studio: upload a black-and-white (or colour) photo, pick a model, compare.

    pip install -r requirements.txt && python app.py      # http://localhost:7860

Layout and wiring only: every handler turns widget values into one call of
``colorize.showcase`` and hands back what it returns. Runs as is on a CPU Hugging Face Space.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402  (analytics must be off before gradio is imported)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from colorize import ColorizeError, get_spec, has_weights, keep_freed_memory, list_models  # noqa: E402
from colorize.files import save_png  # noqa: E402
from colorize.showcase import (  # noqa: E402
    METRIC_GUIDE,
    METRIC_HEADERS,
    channel_gallery,
    compare_models,
    comparison_table,
    guide_canvas,
    metric_rows,
    model_guide,
    painted_strokes,
    showcase,
    suggest_colour,
)
from colorize.zoo import DEFAULT_MODEL, list_guided_models  # noqa: E402

EXAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "camera")  # camera: a real B&W photo
MAX_UPLOAD = "60mb"

INTRO = """# colorize studio
Bring colour back to black-and-white photos. Upload a photo (or pick an example), choose a
model and press **Colorize**. Upload a *colour* photo to see how close each model gets to the
real colours: it is turned gray, colorized, and compared with the original."""

LAB_EXPLAINER = """## How a network colours a photo
Computers usually store colour as red, green and blue. Colorization models use **CIELAB**
instead, which splits a colour into **L**, how light it is, and two colour channels:
**a** (green ↔ red) and **b** (blue ↔ yellow). A black-and-white photo already *is* the L
channel, so the model only has to guess a and b. It guesses them on a small copy of the
photo (colour changes slowly across an image), and the guess is stretched back over your
full-resolution photo, whose own L is kept: every detail stays exactly as it was.

Press **Show channels** to see L, a and b of your photo and of the model's colours."""


GUIDED_HELP = """## Paint the colours you know
You know the dress was blue? Pick a colour, paint a stroke or a dot on it, and the whole
photo follows. Only the hue and saturation of your paint are used; the lightness always
comes from the photo. Not sure of a colour? Click the result: the automatic model's colour at that spot becomes
your brush colour."""

PALETTE = ["#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2e86de", "#8e44ad", "#e8b89a", "#8d5524"]


def photo_input(**options) -> gr.Image:
    """A ``gr.Image`` (upload, drag and drop, paste) whose files reach colorize untouched.

    Gradio would open an upload itself and answer a bad file with a generic error; handing
    colorize the raw file lets its loader say in plain words what is wrong. (An instance
    override rather than a subclass: Gradio writes a .pyi stub next to any subclass.)
    """
    image = gr.Image(type="filepath", **options)
    gradio_preprocess = image.preprocess

    def raw_file(payload):
        if payload is None or payload.path is None or (payload.url or "").startswith("data:"):
            return gradio_preprocess(payload)
        return str(payload.path)

    image.preprocess = raw_file
    return image


def model_choices(names: list[str]) -> list[tuple[str, str]]:
    """Dropdown entries "name: description", untrained models marked as such."""
    return [(f"{name}: {get_spec(name).description}" + ("" if has_weights(name) else " (not trained yet)"), name)
            for name in names]


def example_files() -> list[str]:
    """Write the skimage.data example photos to a temporary folder (no copied datasets)."""
    import skimage.data

    folder = Path(tempfile.gettempdir()) / "colorize-examples"
    folder.mkdir(exist_ok=True)
    paths = []
    for name in EXAMPLES:
        path = folder / f"{name}.png"
        if not path.exists():
            Image.fromarray(getattr(skimage.data, name)()).save(path)
        paths.append(str(path))
    return paths


SCRATCH = Path(tempfile.mkdtemp(prefix="colorize-studio-"))
SCRATCH_MAX_AGE_S = 3600


def png_file(image: np.ndarray | None, name: str) -> str | None:
    """An image as a PNG file for Gradio to serve, instead of an array for Gradio to encode.

    Gradio encodes arrays at zlib level 6: 198 ms for each 1024x768 preview, against 44 ms
    at ``save_png``'s level, and five previews per click. A file also serves twice (the
    slider shows the same gray and colour previews). Files older than an hour are deleted
    as new ones are written; Gradio's copies go with ``delete_cache``.
    """
    if image is None:
        return None
    now = time.time()
    for old in SCRATCH.iterdir():
        if now - old.stat().st_mtime > SCRATCH_MAX_AGE_S:
            shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(dir=SCRATCH)) / f"{name}.png"
    save_png(Image.fromarray(image), path)
    return str(path)


def colorize_photo(photo: str | None, model: str, saturation: float, working_size: int, progress=gr.Progress()):
    """Colorize tab: gray input, prediction, ground truth, slider, metrics, download."""
    if not photo:
        raise gr.Error("Please upload a photo first (or click one of the examples).")
    progress(0.2, desc=f"Colorizing with {model}")
    try:
        shown = showcase(photo, model, saturation, working_size or None)
    except ColorizeError as error:
        raise gr.Error(str(error)) from error
    if shown.report is None:
        note = ("This photo is black and white, so there are no true colours to compare with: "
                "no scores are shown. Judge the colours by eye.")
        table = pd.DataFrame(columns=METRIC_HEADERS)
    else:
        note = METRIC_GUIDE
        table = pd.DataFrame(metric_rows(shown.report), columns=METRIC_HEADERS)
    gray, colorized = png_file(shown.gray, "gray"), png_file(shown.colorized, "colorized")
    return (gray, colorized, png_file(shown.truth, "truth"), (gray, colorized), note,
            table, png_file(shown.full_resolution, f"{Path(photo).stem}-colorized"))


def compare_all(photo: str | None, saturation: float, progress=gr.Progress()):
    """Compare tab: every trained model on the same photo, with its scores."""
    if not photo:
        raise gr.Error("Please upload a photo first (or click one of the examples).")
    progress(0.1, desc="Running every model")
    try:
        results = compare_models(photo, saturation=saturation)
    except ColorizeError as error:
        raise gr.Error(str(error)) from error
    if not results:
        raise gr.Error("No model has weights yet: train one with `python -m train` first.")
    headers, rows = comparison_table(results)
    return [(png_file(shown.colorized, name), name) for name, shown in results], pd.DataFrame(rows, columns=headers)


def start_guiding(photo: str | None):
    """Guided tab: put the gray photo on the canvas, with no paint yet. An unreadable photo
    leaves the canvas empty; the Colorize buttons explain what is wrong with it."""
    if not photo:
        return None
    try:
        canvas = guide_canvas(photo)
    except ColorizeError:
        return None
    return {"background": canvas, "layers": [], "composite": canvas}


def colorize_guided(photo: str | None, canvas: dict | None, model: str, saturation: float):
    """Guided tab: the photo colorized with the painted strokes as hints."""
    if not photo:
        raise gr.Error("Please upload a photo first (or click one of the examples).")
    layers = (canvas or {}).get("layers") or [None]
    strokes = painted_strokes(layers[0])
    try:
        shown = showcase(photo, model, saturation, hints=strokes)
    except ColorizeError as error:
        raise gr.Error(str(error)) from error
    if strokes is None:
        note = "No paint yet: these are the model's own colours." if get_spec(model).automatic else \
            "No paint yet: this engine only spreads colours you give it, so the photo stays gray."
    else:
        note = "Coloured with your strokes."
    if shown.report is not None:
        note += f" PSNR {shown.report.model.psnr:.2f} dB against the real colours (gray baseline {shown.report.gray.psnr:.2f} dB)."
    return png_file(shown.colorized, "guided"), note, png_file(shown.full_resolution, f"{Path(photo).stem}-colorized")


def pick_colour(photo: str | None, event: gr.SelectData):
    """Guided tab: the automatic model's colour where the result was clicked becomes the brush colour."""
    if not photo:
        raise gr.Error("Please upload a photo first (or click one of the examples).")
    try:
        colour = suggest_colour(photo, *event.index)
    except ColorizeError as error:
        raise gr.Error(str(error)) from error
    return colour, gr.ImageEditor(brush=gr.Brush(colors=[colour, *PALETTE], default_color=colour, color_mode="defaults"))


def show_channels(photo: str | None, model: str, saturation: float):
    """Learn tab: L, a, b of the input and of the prediction."""
    if not photo:
        raise gr.Error("Please upload a photo first (or click one of the examples).")
    try:
        return [(png_file(picture, f"channel-{i}"), caption) for i, (picture, caption) in enumerate(channel_gallery(photo, model, saturation))]
    except ColorizeError as error:
        raise gr.Error(str(error)) from error


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="colorize studio", delete_cache=(SCRATCH_MAX_AGE_S, SCRATCH_MAX_AGE_S)) as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                photo = photo_input(label="Your photo", sources=["upload", "clipboard"], elem_id="input-image", height=320)
                model = gr.Dropdown(model_choices(list_models()), value=DEFAULT_MODEL, label="Model", elem_id="model")
                saturation = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Colour strength",
                                       info="0 = gray, 1 = as predicted, above 1 = bolder", elem_id="saturation")
                with gr.Accordion("Advanced", open=False):
                    working_size = gr.Slider(64, 1024, value=get_spec(DEFAULT_MODEL).working_size, step=32,
                                             label="Working resolution (px)", elem_id="working-size",
                                             info="The size the network sees; colour is then stretched to full size.")
                gr.Examples(example_files(), inputs=photo, label="Examples (the last one is a real black-and-white photo)")
            with gr.Column(scale=2):
                with gr.Tab("Colorize"):
                    run = gr.Button("Colorize", variant="primary", elem_id="run-btn")
                    with gr.Row():
                        gray_out = gr.Image(label="Grayscale input (L channel)", format="png", elem_id="gray-image")
                        colour_out = gr.Image(label="Colorized", format="png", elem_id="output-image")
                        truth_out = gr.Image(label="Ground truth", format="png", elem_id="truth-image")
                    slider = gr.ImageSlider(label="Before / after", format="png", elem_id="slider")
                    note = gr.Markdown(elem_id="metrics-note")
                    metrics = gr.Dataframe(headers=METRIC_HEADERS, label="Scores", elem_id="metrics", interactive=False)
                    download = gr.File(label="Full-resolution result (PNG)", elem_id="download")
                with gr.Tab("Guided"):
                    gr.Markdown(GUIDED_HELP)
                    engine = gr.Dropdown(model_choices(list_guided_models()), value=list_guided_models()[0],
                                         label="Engine", elem_id="engine")
                    with gr.Row():
                        canvas = gr.ImageEditor(label="Paint colours on your photo", type="numpy", image_mode="RGBA",
                                                format="png", sources=(), transforms=(), layers=False,
                                                brush=gr.Brush(colors=PALETTE, default_color=PALETTE[4], color_mode="defaults"),
                                                elem_id="guide-canvas", height=420)
                        guided_out = gr.Image(label="Result (click it for a suggested colour)", format="png",
                                              interactive=False, elem_id="guided-image", height=420)
                    with gr.Row():
                        picked = gr.ColorPicker(label="Picked colour", elem_id="picked-colour")
                        guide_run = gr.Button("Colorize with my colours", variant="primary", elem_id="guide-btn")
                        guide_clear = gr.Button("Clear all paint", elem_id="guide-clear")
                    guided_note = gr.Markdown(elem_id="guided-note")
                    guided_download = gr.File(label="Full-resolution result (PNG)", elem_id="guided-download")
                with gr.Tab("Compare all models"):
                    compare = gr.Button("Run every model on this photo", variant="primary", elem_id="compare-btn")
                    grid = gr.Gallery(label="Each model's colours", columns=3, elem_id="compare-grid", format="png")
                    compare_table = gr.Dataframe(label="Scores per model", elem_id="compare-metrics", interactive=False)
                with gr.Tab("Learn"):
                    gr.Markdown(LAB_EXPLAINER)
                    channels_btn = gr.Button("Show channels", elem_id="channels-btn")
                    channels = gr.Gallery(label="L, a and b channels", columns=3, elem_id="channels", format="png")
                    gr.Markdown("## The models\n\n" + model_guide())

        model.change(lambda name: get_spec(name).working_size, model, working_size, api_name=False)
        run.click(colorize_photo, [photo, model, saturation, working_size],
                  [gray_out, colour_out, truth_out, slider, note, metrics, download], api_name="colorize")
        guided_inputs, guided_outputs = [photo, canvas, engine, saturation], [guided_out, guided_note, guided_download]
        photo.change(start_guiding, photo, canvas, api_name=False)
        # One queue for every guided run, so results land in the order they were asked for
        # (a live stroke never overwrites the result of a later button press).
        in_order = dict(concurrency_limit=1, concurrency_id="guided")
        canvas.input(colorize_guided, guided_inputs, guided_outputs, trigger_mode="always_last", api_name=False, **in_order)
        engine.input(colorize_guided, guided_inputs, guided_outputs, api_name=False, **in_order)
        guide_run.click(colorize_guided, guided_inputs, guided_outputs, api_name="guided", **in_order)
        guide_clear.click(start_guiding, photo, canvas, api_name=False).then(
            colorize_guided, guided_inputs, guided_outputs, api_name=False, **in_order)
        guided_out.select(pick_colour, photo, [picked, canvas], api_name=False)
        compare.click(compare_all, [photo, saturation], [grid, compare_table], api_name="compare")
        channels_btn.click(show_channels, [photo, model, saturation], channels, api_name="channels")
    demo.queue(default_concurrency_limit=2, max_size=32)
    return demo


demo = build_demo()

if __name__ == "__main__":
    keep_freed_memory()
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), max_file_size=MAX_UPLOAD)
