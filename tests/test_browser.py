"""End to end in a real browser: Debian's Chromium driven by Playwright, against the real server.

Chromium is installed by `.ci/run` (`apt-get install chromium`), never downloaded by
Playwright. Without it the test fails in CI and is skipped on a developer's machine.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import av
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from colorize.color import image_to_lab
from colorize.showcase import available_models, showcase
from colorize.video import colorize_frames
from test_video import panning, write_clip

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # any host but loopback fails at once, so the test can never wait on the internet
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
RESULT_TIMEOUT = 120_000
# Every other check waits up to 20 s, not Playwright's 5: the video test once failed with training
# running beside it on 2 cores and passed alone. Only a page that never gets there fails.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def studio_page(chromium, studio_url):
    """A fresh page on the studio that records every request leaving the machine."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.outside_requests = []
    page.on("request", lambda request: urlparse(request.url).hostname not in ("127.0.0.1", "localhost")
            and not request.url.startswith(("data:", "blob:")) and page.outside_requests.append(request.url))
    page.goto(studio_url)
    expect(page.locator("#run-btn")).to_be_enabled(timeout=60_000)  # slow first render on a busy machine
    yield page
    context.close()


def upload(page, photo: Path) -> None:
    page.locator("#input-image input[type=file]").set_input_files(str(photo))
    expect(page.locator("#input-image img").first).to_be_visible()


def test_upload_pick_a_model_colorize_and_read_the_scores(studio_page, colour_photo):
    page = studio_page
    upload(page, colour_photo)
    page.locator("#model input").click()
    page.get_by_role("option", name=re.compile(r"^shallow")).click()
    page.locator("#run-btn").click()

    for image in ("#output-image", "#truth-image"):
        expect(page.locator(f"{image} img").first).to_be_visible(timeout=RESULT_TIMEOUT)
    expect(page.locator("#metrics")).to_contain_text("PSNR", timeout=RESULT_TIMEOUT)
    expected = showcase(colour_photo, "shallow", 1.0, 256).report.model.psnr
    expect(page.locator("#metrics")).to_contain_text(f"{expected:.2f}")
    expect(page.locator("#metric-guide")).to_contain_text("peak signal-to-noise ratio")  # the words beside the numbers
    expect(page.locator("#download")).to_contain_text("colour-colorized", timeout=RESULT_TIMEOUT)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "colorize-tab.png"), full_page=True)
    assert page.outside_requests == []


def test_colour_strength_applies_at_once_and_a_new_photo_clears_the_results(studio_page, colour_photo, gray_photo):
    page = studio_page
    upload(page, colour_photo)
    page.locator("#run-btn").click()
    result = page.locator("#output-image img").first
    expect(result).to_be_visible(timeout=RESULT_TIMEOUT)
    assert settled_chroma(page, result, lambda chroma: chroma > 3) > 3
    track = page.locator("#saturation input[type=range]").bounding_box()
    page.mouse.click(track["x"] + 1, track["y"] + track["height"] / 2)  # strength 0, no button pressed
    assert settled_chroma(page, result, lambda chroma: chroma < 3) < 3

    upload(page, gray_photo)
    expect(page.locator("#output-image img")).to_have_count(0, timeout=RESULT_TIMEOUT)
    expect(page.locator("#metrics")).not_to_contain_text("PSNR")
    assert page.outside_requests == []


def test_black_and_white_photo_says_why_there_is_no_ground_truth(studio_page, gray_photo):
    page = studio_page
    upload(page, gray_photo)
    page.locator("#run-btn").click()
    expect(page.locator("#metrics-note")).to_contain_text("black and white", timeout=RESULT_TIMEOUT)
    expect(page.locator("#output-image img").first).to_be_visible()
    expect(page.locator("#truth-image")).to_be_hidden()
    expect(page.locator("#metrics")).to_be_hidden()
    assert page.outside_requests == []


def test_a_bad_file_is_explained_until_the_next_action(studio_page, tmp_path, colour_photo):
    page = studio_page
    bad = tmp_path / "letter.png"
    bad.write_bytes(b"Dear grandma, this is not a photo.")
    page.locator("#input-image input[type=file]").set_input_files(str(bad))
    expect(page.locator("#status")).to_contain_text('"letter.png" is not an image we can read', timeout=RESULT_TIMEOUT)
    expect(page.locator("#input-image img")).to_have_count(0)  # no broken-image icon
    assert "/tmp" not in page.locator("#status").inner_text()
    page.wait_for_timeout(12_000)  # a toast would have gone by now
    expect(page.locator("#status")).to_contain_text("letter.png")
    upload(page, colour_photo)
    expect(page.locator("#status")).not_to_contain_text("letter.png", timeout=RESULT_TIMEOUT)


def test_phone_sized_screen_shows_the_button_and_the_result_without_sideways_scrolling(chromium, studio_url, colour_photo):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(studio_url)
        expect(page.locator("#run-btn")).to_be_enabled(timeout=60_000)
        upload(page, colour_photo)
        assert page.locator("#run-btn").bounding_box()["y"] + 40 <= 844  # on the first screen
        page.locator("#run-btn").click()
        expect(page.locator("#metrics")).to_contain_text("PSNR", timeout=RESULT_TIMEOUT)
        assert page.evaluate("window.scrollY") == 0
        assert page.locator("#output-image img").first.bounding_box()["y"] < 844  # the result starts on that screen too
        for name in ("Colorize", "Guided", "Compare", "Learn", "Video"):
            expect(page.get_by_role("tab", name=name)).to_be_visible()
        expect(page.get_by_role("button", name="More tabs")).to_be_hidden()  # no tab tucked into an overflow menu
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the score table scrolls inside itself
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone.png"))
    finally:
        context.close()


def test_compare_and_learn_tabs(studio_page, colour_photo):
    page = studio_page
    upload(page, colour_photo)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-btn").click()
    expect(page.locator("#compare-metrics")).to_contain_text("gray baseline", timeout=RESULT_TIMEOUT)
    expect(page.locator("#compare-grid img")).to_have_count(len(available_models()))
    page.screenshot(path=str(ARTIFACTS / "compare-tab.png"), full_page=True)

    page.get_by_role("tab", name="Learn").click()
    page.locator("#channels-btn").click()
    expect(page.locator("#channels img")).to_have_count(6, timeout=RESULT_TIMEOUT)
    expect(page.get_by_text("CIELAB").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "learn-tab.png"), full_page=True)
    assert page.outside_requests == []


def chroma_of(element) -> float:
    """Lab chroma of the most colourful 1 % of what an element shows on screen (an image
    shown letterboxed on a white page still counts)."""
    shot = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB"))
    return float(np.percentile(np.hypot(*np.moveaxis(image_to_lab(shot)[..., 1:], -1, 0)), 99))


def settled_chroma(page, element, done, attempts: int = 60) -> float:
    """The element's chroma once ``done(chroma)`` holds, or after ~30 s: the picture can land
    a moment after the note, and an earlier request's picture can still be on its way."""
    chroma = chroma_of(element)
    for _ in range(attempts):
        if done(chroma):
            break
        page.wait_for_timeout(500)
        chroma = chroma_of(element)
    return chroma


def test_guided_tab_paint_one_stroke_and_the_photo_takes_its_colour(studio_page, colour_photo):
    page = studio_page
    upload(page, colour_photo)
    page.get_by_role("tab", name="Guided").click()
    page.locator("#engine input").click()
    page.get_by_role("option", name=re.compile(r"^levin")).click()
    expect(page.locator("#guided-note")).to_contain_text("stays gray", timeout=RESULT_TIMEOUT)
    result = page.locator("#guided-image img").first
    assert settled_chroma(page, result, lambda chroma: chroma < 3) < 3  # nothing painted: Levin leaves it gray

    page.locator("#guide-canvas button[aria-label='Brush']").first.click()
    box = page.locator("#guide-canvas canvas").first.bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + box["width"] * 0.3, y, steps=10)
    page.mouse.up()
    expect(page.locator("#guided-note")).to_contain_text("your colours", timeout=RESULT_TIMEOUT)
    page.locator("#guide-btn").click()  # the full-resolution file, on request
    expect(page.locator("#guided-download")).to_contain_text("colour-colorized", timeout=RESULT_TIMEOUT)
    assert settled_chroma(page, result, lambda chroma: chroma > 15) > 15  # the stroke's colour spread over the photo

    result.click()  # pick up the result's colour as the brush colour
    expect(page.locator("#picked-colour button").first).to_have_attribute("style", re.compile(r"background: rgb"),
                                                                           timeout=RESULT_TIMEOUT)
    page.screenshot(path=str(ARTIFACTS / "guided-tab.png"), full_page=True)
    assert page.outside_requests == []


def test_video_tab_colours_a_clip_and_plays_it_with_the_strip_beside(studio_page, tmp_path):
    page = studio_page
    page.get_by_role("tab", name="Video").click()
    expect(page.locator("#video-help")).to_contain_text("60 seconds")
    page.locator("#input-video input[type=file]").set_input_files(str(write_clip(tmp_path / "film.mp4", panning(6, 32, 48))))
    expect(page.locator("#input-video video")).to_be_visible()  # uploaded
    page.locator("#video-btn").click()
    expect(page.locator("#video-download")).to_contain_text("film-colorized", timeout=RESULT_TIMEOUT)
    expect(page.locator("#output-video video")).to_have_attribute("src", re.compile(r"film-colorized\.mp4"))
    expect(page.locator("#video-strip img").first).to_be_visible()
    expect(page.locator("#status")).to_be_empty()
    page.screenshot(path=str(ARTIFACTS / "video-tab.png"), full_page=True)
    assert page.outside_requests == []


def test_paint_on_a_clips_first_frame_colours_the_whole_clip(studio_page, tmp_path):
    page = studio_page
    page.get_by_role("tab", name="Video").click()
    gray = [np.repeat(f.mean(axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1) for f in panning(6, 64, 96, step=1)]
    page.locator("#input-video input[type=file]").set_input_files(str(write_clip(tmp_path / "reel.mp4", gray)))
    page.get_by_text("Choose colours yourself").click()
    canvas = page.locator("#video-canvas canvas").first
    expect(canvas).to_be_visible(timeout=RESULT_TIMEOUT)
    expect(page.locator("#video-canvas")).to_contain_text("466%", timeout=RESULT_TIMEOUT)  # the first frame is on it, zoomed to fit
    box = canvas.bounding_box()  # the brush is the editor's tool from the start
    x, y = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5  # on the frame, shown in the middle
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + box["width"] * 0.2, y, steps=10)
    page.mouse.up()
    page.locator("#video-btn").click()
    expect(page.locator("#video-download")).to_contain_text("reel-colorized", timeout=RESULT_TIMEOUT)
    strip = page.locator("#video-strip img").first
    expect(strip).to_be_visible()
    coloured = tmp_path / "coloured.mp4"
    coloured.write_bytes(page.request.get(page.locator("#video-download a").first.get_attribute("href")).body())
    with av.open(str(coloured)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    def mean_ab(clip: list[np.ndarray]) -> np.ndarray:
        return np.array([image_to_lab(frame)[..., 1:].mean(axis=(0, 1)) for frame in clip])

    painted, automatic = mean_ab(frames), mean_ab(list(colorize_frames(gray, "default")))
    assert len(frames) == 6 and np.hypot(*(painted - automatic).T).min() > 10, (painted, automatic)  # the paint's colour ...
    assert np.ptp(painted, axis=0).max() < 3, painted                                               # ... on every frame alike
    expect(page.locator("#status")).to_be_empty()


def test_an_oversized_clip_is_refused_in_the_browser_with_the_limit_named(studio_page, tmp_path):
    page = studio_page
    page.get_by_role("tab", name="Video").click()
    huge = tmp_path / "huge-film.mp4"
    with huge.open("wb") as file:
        file.truncate(61 * 1024 * 1024)  # one MB over the limit stated on screen
    page.locator("#input-video input[type=file]").set_input_files(str(huge))
    expect(page.get_by_text(re.compile(r"exceed the maximum allowed size of 60(\.0)? ?MB", re.IGNORECASE)).first).to_be_visible()
    expect(page.locator("#input-video video")).to_have_count(0)  # nothing was taken in
    page.locator("#input-video input[type=file]").set_input_files(str(write_clip(tmp_path / "film.mp4", panning(6, 32, 48))))
    expect(page.locator("#input-video video")).to_be_visible()  # the page carries on with the next clip
    assert page.outside_requests == []
