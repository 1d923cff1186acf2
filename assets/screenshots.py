"""Screenshots of every studio tab on the shipped weights, and of a phone screen, for the README.

    python assets/screenshots.py        # needs Debian's chromium; writes assets/studio-*.png
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

import app  # noqa: E402

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
WAIT = 300_000


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.LAUNCH)
    photo = next(path for path in app.example_files() if path.endswith("astronaut.png"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("#input-image input[type=file]").set_input_files(photo)
        page.locator("#run-btn").click()
        expect(page.locator("#metrics")).to_contain_text("PSNR", timeout=WAIT)
        page.screenshot(path=str(ROOT / "assets/studio-colorize.png"), full_page=True)
        page.get_by_role("tab", name="Guided").click()
        page.locator("#guide-canvas button[aria-label='Brush']").first.click()
        box = page.locator("#guide-canvas canvas").first.bounding_box()
        x, y = box["x"] + box["width"] * 0.33, box["y"] + box["height"] * 0.82
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + box["width"] * 0.2, y, steps=10)  # a blue stroke across the orange suit
        page.mouse.up()
        expect(page.locator("#guided-note")).to_contain_text("your colours", timeout=WAIT)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(ROOT / "assets/studio-guided.png"), full_page=True)
        page.get_by_role("tab", name="Compare").click()
        page.locator("#compare-btn").click()
        expect(page.locator("#compare-metrics")).to_contain_text("gray baseline", timeout=WAIT)
        page.screenshot(path=str(ROOT / "assets/studio-compare.png"), full_page=True)
        page.get_by_role("tab", name="Learn").click()
        page.locator("#channels-btn").click()
        expect(page.locator("#channels img")).to_have_count(6, timeout=WAIT)
        page.screenshot(path=str(ROOT / "assets/studio-learn.png"), full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        phone.goto(f"http://127.0.0.1:{port}/")
        phone.locator("#input-image input[type=file]").set_input_files(photo)
        expect(phone.locator("#input-image img").first).to_be_visible(timeout=WAIT)
        phone.locator("#run-btn").click()
        expect(phone.locator("#metrics")).to_contain_text("PSNR", timeout=WAIT)
        phone.wait_for_timeout(1000)
        phone.screenshot(path=str(ROOT / "assets/studio-phone.png"))  # the first screen, as a phone shows it
        browser.close()
    app.demo.close()


if __name__ == "__main__":
    main()
