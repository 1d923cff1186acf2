"""colorize studio: upload a black-and-white (or colour) photo, pick a model, compare.

    pip install -r requirements.txt && python app.py      # http://localhost:7860

Layout and wiring only: the handlers live in ``studio.py``. Each tab is one function that
lays itself out on the shared controls and returns the results a new photo must clear, so a
tab is added with one more function and one line in ``build_demo``. Runs as is on a CPU
Hugging Face Space.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402  (analytics must be off before gradio is imported)
from PIL import Image  # noqa: E402

import studio  # noqa: E402
from colorize import get_spec, keep_freed_memory  # noqa: E402
from colorize.showcase import LAB_EXPLAINER, METRIC_GUIDE, METRIC_HEADERS, available_guided_models, available_models, model_guide  # noqa: E402
from colorize.zoo import DEFAULT_MODEL  # noqa: E402

EXAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "camera")  # camera: a real B&W photo
MAX_UPLOAD = "60mb"
INTRO = ("# colorize studio\nBring colour back to black-and-white photos: upload one, press **Colorize**. "
         "A *colour* photo is turned gray first, so you can see how close the colours come to the real ones.")
GUIDED_HELP = ("Know a colour (the dress was blue)? Paint it on the photo and its part of the photo follows, up to the edges. Only the "
               "hue of your paint counts; lightness comes from the photo. Not sure? Click the result to pick up its colour.")
VIDEO_HELP = ("Colour a black-and-white film clip: the colour holds steady from frame to frame and the sound is kept. "
              f"Clips up to {MAX_UPLOAD.removesuffix('mb')} MB and {studio.MAX_CLIP_SECONDS} seconds; the model is the one "
              "chosen on the left. The result is an MP4 (H.264 with AAC sound) that plays anywhere.")
VIDEO_HINTS_HELP = ("Paint a colour on something in the first frame (a coat, a car, the sky) and it keeps that colour "
                    "as it moves, until the scene changes. With paint, the clip is coloured by the first guided model "
                    "(the automatic model plus your colours).")
# Phones: a short header and upload box, so the button and the result fit on the first screen;
# no page-wide sideways scrolling (wide tables scroll inside themselves); tabs padded narrowly
# enough that all five fit on one line, none tucked into a "More tabs" menu.
CSS = """
.gradio-container { overflow-x: hidden; }
#metrics, #compare-metrics { max-width: 100%; overflow-x: auto; }
@media (max-width: 640px) {
  #intro h1 { font-size: 1.5em; margin-bottom: 0; }
  #intro p { display: none; }
  #input-image { height: 220px !important; }
  #tabs .tab-container > button { padding: 0 var(--size-2); }
}
"""
LAUNCH = dict(max_file_size=MAX_UPLOAD, css=CSS)


@dataclass(frozen=True)
class Shared:
    """The controls every tab reads: the photo (as uploaded and as opened), model, strength."""

    photo: gr.Image
    opened: gr.State
    model: gr.Dropdown
    saturation: gr.Slider
    working_size: gr.Slider
    run: gr.Button
    status: gr.Markdown
    canvas: gr.ImageEditor  # rendered by the Guided tab; a new photo puts its gray preview there


def photo_input(**options) -> gr.Image:
    """A ``gr.Image`` whose files reach colorize untouched, so its loader can say in plain
    words what is wrong with a bad one (Gradio would answer with a generic error). An
    instance override rather than a subclass: Gradio writes a .pyi stub next to any subclass."""
    image = gr.Image(type="filepath", **options)
    gradio_preprocess = image.preprocess

    def raw_file(payload):
        if payload is None or payload.path is None or (payload.url or "").startswith("data:"):
            return gradio_preprocess(payload)
        return str(payload.path)

    image.preprocess = raw_file
    return image


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


def colorize_tab(shared: Shared) -> list:
    with gr.Tab("Colorize"):
        prediction = gr.State(time_to_live=studio.MAX_AGE_S)
        with gr.Row():
            colour_out = gr.Image(label="Colorized", format="png", elem_id="output-image")
            truth_out = gr.Image(label="Ground truth (the real colours)", format="png", elem_id="truth-image")
        note = gr.Markdown(label="Notes", elem_id="metrics-note")
        metrics = gr.Dataframe(headers=METRIC_HEADERS, label="Scores", elem_id="metrics", interactive=False, wrap=True)
        gr.Markdown(METRIC_GUIDE, elem_id="metric-guide")
        slider = gr.ImageSlider(label="Before / after", format="png", elem_id="slider")
        download = gr.File(label="Full-resolution result (PNG)", elem_id="download")
        api = gr.Button(visible=False)
    previews = [colour_out, slider, truth_out, note, metrics]
    shared.run.click(studio.for_page(studio.colorize_photo, 6), [shared.photo, shared.opened, shared.model, shared.saturation,
                     shared.working_size], [prediction, *previews, shared.status], api_name=False).then(
        studio.download, [prediction, shared.saturation], download, api_name=False)
    shared.saturation.release(studio.recolour, [prediction, shared.saturation], previews, api_name=False).then(
        studio.download, [prediction, shared.saturation], download, api_name=False)
    api.click(studio.for_api(studio.colorize_api), [shared.photo, shared.model, shared.saturation, shared.working_size],
              [download, note, metrics], api_name="colorize")
    return [prediction, *previews, download]


def guided_tab(shared: Shared) -> list:
    with gr.Tab("Guided"):
        gr.Markdown(GUIDED_HELP)
        engines = available_guided_models()
        engine = gr.Dropdown(studio.model_choices(engines), value=engines[0], label="Engine", elem_id="engine")
        with gr.Row():
            canvas = shared.canvas.render()
            result = gr.Image(label="Result (click it for a suggested colour)", format="png", interactive=False,
                              elem_id="guided-image", height=420)
        with gr.Row():
            picked = gr.ColorPicker(label="Picked colour", elem_id="picked-colour")
            run = gr.Button("Full-resolution result", variant="primary", elem_id="guide-btn")
            clear = gr.Button("Clear all paint", elem_id="guide-clear")
        note = gr.Markdown(label="Notes", elem_id="guided-note")
        download = gr.File(label="Full-resolution result (PNG)", elem_id="guided-download")
        points = gr.JSON(visible=False, label="Points")
        api = gr.Button(visible=False)
        prediction = gr.State(time_to_live=studio.MAX_AGE_S)
    guide = studio.for_page(studio.guide, 3)
    inputs, outputs = [shared.opened, canvas, engine, shared.saturation], [prediction, result, note, shared.status]
    # One queue for every guided run, so results land in the order they were asked for.
    in_order = dict(concurrency_limit=1, concurrency_id="guided", api_name=False)
    # A stroke and an engine change are one event, so a run that is still waiting is replaced by the
    # latest request instead of landing after it (a late run of the old engine overwrote the new one).
    gr.on([canvas.input, engine.input], guide, inputs, outputs, trigger_mode="always_last", **in_order).then(
        lambda: None, None, download, api_name=False)
    run.click(guide, inputs, outputs, **in_order).then(studio.download, [prediction, shared.saturation], download, api_name=False)
    clear.click(studio.clear_paint, shared.opened, canvas, api_name=False).then(guide, inputs, outputs, **in_order)
    result.select(studio.for_page(studio.pick_colour, 2), shared.opened, [picked, canvas, shared.status], api_name=False)
    api.click(studio.for_api(studio.guided_api), [shared.photo, points, engine, shared.saturation], [download, note],
              api_name="guided", concurrency_limit=1, concurrency_id="guided")
    return [prediction, result, note, download]


def compare_tab(shared: Shared) -> list:
    with gr.Tab("Compare"):
        compare = gr.Button("Run every model on this photo", variant="primary", elem_id="compare-btn")
        grid = gr.Gallery(label="Each model's colours", columns=3, elem_id="compare-grid", format="png")
        table = gr.Dataframe(label="Scores per model", elem_id="compare-metrics", interactive=False, wrap=True)
        gr.Markdown(METRIC_GUIDE)
        api = gr.Button(visible=False)
    compare.click(studio.for_page(studio.compare_all, 2), [shared.photo, shared.opened, shared.saturation],
                  [grid, table, shared.status], api_name=False)
    api.click(studio.for_api(studio.compare_all), [shared.photo, shared.opened, shared.saturation], [grid, table], api_name="compare")
    return [grid, table]


def learn_tab(shared: Shared) -> list:
    with gr.Tab("Learn"):
        gr.Markdown(LAB_EXPLAINER)
        show = gr.Button("Show channels", elem_id="channels-btn")
        channels = gr.Gallery(label="L, a and b channels", columns=3, elem_id="channels", format="png")
        gr.Markdown("## The models\n\n" + model_guide())
        api = gr.Button(visible=False)
    inputs = [shared.photo, shared.opened, shared.model, shared.saturation]
    show.click(studio.for_page(studio.show_channels, 1), inputs, [channels, shared.status], api_name=False)
    api.click(studio.for_api(studio.show_channels), inputs, channels, api_name="channels")
    return [channels]


def video_tab(shared: Shared) -> None:
    """Its own upload and results: a new photo leaves them be."""
    with gr.Tab("Video"):
        gr.Markdown(VIDEO_HELP, elem_id="video-help")
        with gr.Row():
            clip = gr.Video(label="Your clip", sources=["upload"], elem_id="input-video")
            coloured = gr.Video(label="Colorized clip", interactive=False, elem_id="output-video")
        run = gr.Button("Colorize clip", variant="primary", elem_id="video-btn")
        with gr.Accordion("Choose colours yourself (optional)", open=False, elem_id="video-hints"):
            gr.Markdown(VIDEO_HINTS_HELP)
            canvas = gr.ImageEditor(label="Paint colours on the first frame", type="numpy", image_mode="RGBA", format="png",
                                    sources=(), transforms=(), layers=False, brush=studio.brush(), elem_id="video-canvas",
                                    height=360)
        strip = gr.Image(label="Gray frames (top) and their colour (bottom)", format="png", interactive=False,
                         elem_id="video-strip")
        download = gr.File(label="Colorized clip (MP4)", elem_id="video-download")
        points = gr.JSON(visible=False, label="Points")
        api = gr.Button(visible=False)
    outputs = [coloured, strip, download]
    one_clip_at_a_time = dict(concurrency_limit=1, concurrency_id="video")
    run.click(studio.for_page(studio.colorize_clip, 3), [clip, shared.model, canvas], [*outputs, shared.status],
              api_name=False, **one_clip_at_a_time)
    api.click(studio.for_api(studio.video_api), [clip, shared.model, points], outputs, api_name="video", **one_clip_at_a_time)
    clip.change(studio.for_page(studio.new_clip, 4), clip, [*outputs, canvas, shared.status], api_name=False)


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="colorize studio", delete_cache=(studio.MAX_AGE_S, studio.MAX_AGE_S)) as demo:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Row(elem_id="main-row"):
            with gr.Column(scale=1, min_width=300, elem_id="controls"):
                photo = photo_input(label="Your photo", sources=["upload", "clipboard"], elem_id="input-image", height=300)
                status = gr.Markdown(elem_id="status")
                models = available_models()
                model = gr.Dropdown(studio.model_choices(models), value=DEFAULT_MODEL if DEFAULT_MODEL in models else models[0],
                                    label="Model", info="Each is a different network; the Learn tab explains them.", elem_id="model")
                run = gr.Button("Colorize", variant="primary", elem_id="run-btn")
                saturation = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Colour strength", elem_id="saturation",
                                       info="0 = gray, 1 = as predicted, above 1 = bolder. Applies at once.")
                with gr.Accordion("Advanced", open=False, elem_id="advanced"):
                    working_size = gr.Slider(64, 1024, value=get_spec(model.value).working_size, step=32, elem_id="working-size",
                                             label="Working resolution (px)",
                                             info="The size the network sees; colour is then stretched to full size.")
            with gr.Column(scale=2, min_width=300, elem_id="results"):
                canvas = gr.ImageEditor(label="Paint colours on your photo", type="numpy", image_mode="RGBA", format="png",
                                        sources=(), transforms=(), layers=False, brush=studio.brush(), elem_id="guide-canvas",
                                        height=420, render=False)
                shared = Shared(photo, gr.State(time_to_live=studio.MAX_AGE_S), model, saturation, working_size, run, status, canvas)
                with gr.Tabs(elem_id="tabs"):
                    results = [*colorize_tab(shared), *guided_tab(shared), *compare_tab(shared), *learn_tab(shared)]
                    video_tab(shared)
        gr.Examples(example_files(), inputs=photo, label="Examples (the last one is a real black-and-white photo)")
        # Old results go first, then the photo is opened: a Colorize pressed at once after an upload
        # must not have its result wiped by a clearing that comes after it (a big photo opens slowly).
        photo.change(lambda: [None] * len(results), None, results, api_name=False).then(
            studio.new_photo, photo, [photo, shared.opened, canvas, status], api_name=False)
        model.change(lambda name: get_spec(name).working_size, model, working_size, api_name=False)
    demo.queue(default_concurrency_limit=2, max_size=32)
    return demo


demo = build_demo()

if __name__ == "__main__":
    keep_freed_memory()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a stopped server removes its files (atexit)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), **LAUNCH)
