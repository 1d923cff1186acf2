"""The studio as an API client meets it: latency of /colorize, the server's memory, and
the time one guided stroke takes on a big photo.

    python bench/api.py                      # -> bench/results/api.{md,json}
    python bench/api.py --repeats 10 --parts latency guided

``python app.py`` runs in a fresh process; ``gradio_client`` sends a 1024x768 JPEG to
``/colorize`` (the default model, scores included, every output downloaded) and the median
round trip is reported. Then 20 mixed requests (two of them 6000x4000 photos, guided runs
and comparisons among the rest) go through the same server, its resident memory (VmRSS) is
read after them and again after it idled, and its peak (VmHWM) over the whole run. Last,
in this process, a stroke on a 6000x4000 photo: the studio's handler (the preview-sized
working image) against what a stroke used to cost (the whole photo colorized at full size
and written out as a preview and a full-size PNG).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from colorize.zoo import DEFAULT_MODEL, get_spec  # noqa: E402
from memory import _free_port, _wait_until_up  # noqa: E402
from report import write_report  # noqa: E402
from PIL import Image  # noqa: E402
from speed import photo_jpeg  # noqa: E402

IDLE_S = 20
PARTS = ["latency", "memory", "guided"]
SIZE = get_spec(DEFAULT_MODEL).working_size


def start_studio(port: int):
    """``python app.py`` on ``port``, as a user starts it."""
    import os
    import subprocess

    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def memory_mb(pid: int, field: str) -> float:
    """A ``/proc/<pid>/status`` memory field (VmRSS, VmHWM) in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split(f"{field}:")[1].split()[0]) / 1024


def latency_s(client, photo: Path, repeats: int) -> list[float]:
    """Round trips of /colorize on ``photo`` (the first, warm-up call is not counted)."""
    from gradio_client import handle_file

    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        client.predict(handle_file(str(photo)), DEFAULT_MODEL, 1.0, SIZE, api_name="/colorize")
        times.append(time.perf_counter() - start)
    return times[1:]


def mixed_requests(client, small: Path, big: Path) -> int:
    """20 requests a busy afternoon brings: colorize, guided with points, compare, two big photos."""
    from gradio_client import handle_file

    points = [{"x": 100, "y": 120, "color": "#2e86de"}, {"x": 400, "y": 300, "color": "#c0392b"}]
    calls = 0
    for round_ in range(5):
        photo = big if round_ in (1, 3) else small
        client.predict(handle_file(str(photo)), DEFAULT_MODEL, 1.0, SIZE, api_name="/colorize")
        client.predict(handle_file(str(small)), points, "levin", 1.0, api_name="/guided")
        client.predict(handle_file(str(small)), points, "unet-guided", 1.0, api_name="/guided")
        client.predict(handle_file(str(small)), 1.0, api_name="/compare")
        calls += 4
    return calls


def stroke_s(big: Path, repeats: int) -> dict:
    """Seconds per guided stroke on ``big``, per engine: now (preview) and before (full size)."""
    import numpy as np
    import torch

    import studio
    from colorize import keep_freed_memory
    from colorize.showcase import available_guided_models, showcase

    keep_freed_memory()
    torch.set_num_threads(2)
    photo = studio.new_photo(str(big))[1]
    canvas = studio.clear_paint(photo)
    height, width = canvas["background"].shape[:2]
    layer = np.zeros((height, width, 4), np.uint8)
    layer[height // 2 : height // 2 + height // 20, width // 5 : width * 3 // 5] = (46, 134, 222, 153)  # a blue stroke
    canvas["layers"] = [layer]
    figures = {}
    for engine in available_guided_models():
        studio.guide(photo, canvas, engine, 1.0)  # warm-up: weights loaded
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            studio.guide(photo, canvas, engine, 1.0)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        full = showcase(str(big), engine, hints=np.asarray(Image.fromarray(layer).resize(photo.size[::-1])))
        studio.png_file(full.colorized, "before-preview")
        studio.png_file(full.full_resolution, "before-full")
        figures[engine] = {"stroke_s": statistics.median(times), "before_s": time.perf_counter() - start}
        print(f"{engine}: {figures[engine]}", file=sys.stderr)
    return figures


def main(argv: list[str] | None = None) -> int:
    from gradio_client import Client

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=PARTS, help="what to measure (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/api")
    args = parser.parse_args(argv)
    port = _free_port()
    server = start_studio(port)
    url = f"http://127.0.0.1:{port}/"
    results: dict = {}
    try:
        _wait_until_up(url)
        client = Client(url, verbose=False)
        with tempfile.TemporaryDirectory() as scratch:
            small, big = Path(scratch) / "1024x768.jpg", Path(scratch) / "6000x4000.jpg"
            small.write_bytes(photo_jpeg(1024, 768))
            big.write_bytes(photo_jpeg(6000, 4000))
            if "latency" in args.parts:
                times = latency_s(client, small, args.repeats)
                results["colorize_1024x768_s"] = {"median": statistics.median(times), "min": min(times), "max": max(times)}
            if "memory" in args.parts:
                results["requests"] = mixed_requests(client, small, big)
                results["rss_after_mb"] = memory_mb(server.pid, "VmRSS")
                time.sleep(IDLE_S)
                results["rss_idle_mb"] = memory_mb(server.pid, "VmRSS")
                results["peak_mb"] = memory_mb(server.pid, "VmHWM")
            client.close()
            server.terminate()
            server.wait(10)
            if "guided" in args.parts:
                results["guided_6000x4000"] = stroke_s(big, args.repeats)
    finally:
        server.terminate()
        server.wait(10)
    lines = []
    if "latency" in args.parts:
        timing = results["colorize_1024x768_s"]
        lines.append(f"`/colorize` through gradio_client, 1024x768 JPEG, default model, {args.repeats} calls: "
                     f"median **{timing['median']:.3f} s** (min {timing['min']:.3f}, max {timing['max']:.3f}).")
    if "memory" in args.parts:
        lines.append(f"Server memory after {results['requests']} mixed requests (two 6000x4000 photos): "
                     f"RSS **{results['rss_after_mb']:.0f} MB**, after {IDLE_S} s idle **{results['rss_idle_mb']:.0f} MB**, "
                     f"peak {results['peak_mb']:.0f} MB.")
    for engine, each in results.get("guided_6000x4000", {}).items():
        lines.append(f"Guided stroke on a 6000x4000 photo, {engine}: **{each['stroke_s']:.2f} s** "
                     f"(before, the whole photo at full size: {each['before_s']:.1f} s).")
    write_report(args.out, results, "\n\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
