"""Peak memory: one process colorizing a big photo per model, and the studio under 8 clients.

    python bench/memory.py                      # -> bench/results/memory.{md,json}
    python bench/memory.py --size 6000x4000 --models unet --no-app

Each measurement runs in a fresh process, and its peak resident set size (VmHWM) is read
from the kernel, so nothing measured earlier inflates a later figure.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from colorize import has_weights, list_models  # noqa: E402

from report import write_report  # noqa: E402
from speed import photo_jpeg  # noqa: E402


COLORIZE_ONE = """
import sys
from colorize import colorize_image, keep_freed_memory
keep_freed_memory()  # as the command line does
colorize_image(sys.argv[1], sys.argv[2]).save(sys.argv[3])
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def peak_colorize_mb(model: str, photo: Path) -> float:
    """Peak RSS (MB) of a fresh process that loads ``model`` and colorizes ``photo`` to PNG."""
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run([sys.executable, "-c", COLORIZE_ONE, str(photo), model, f"{scratch}/out.png"],
                              cwd=ROOT, check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1]) / 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


def peak_app_mb(photo: Path, clients: int, model: str) -> float:
    """Peak RSS (MB) of `python app.py` while ``clients`` clients colorize ``photo`` at once."""
    from gradio_client import Client, handle_file

    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url)

        def colorize(_):
            client = Client(url, verbose=False)
            try:
                return client.predict(handle_file(str(photo)), model, 1.0, 256, api_name="/colorize")
            finally:
                client.close()

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(colorize, range(clients)))
        status = Path(f"/proc/{server.pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024
    finally:
        server.terminate()
        server.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", help="default: every model with weights")
    parser.add_argument("--size", default="6000x4000", help="WIDTHxHEIGHT of the photo colorized by one process")
    parser.add_argument("--app-size", default="1024x768", help="photo size sent by each studio client")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--no-app", dest="app", action="store_false", help="skip the studio measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/memory")
    args = parser.parse_args(argv)
    models = args.models or [name for name in list_models() if has_weights(name)]
    results: dict = {"photo": args.size, "peak_mb": {}}
    with tempfile.TemporaryDirectory() as scratch:
        photo = Path(scratch) / "photo.jpg"
        photo.write_bytes(photo_jpeg(*map(int, args.size.split("x"))))
        for model in models:
            results["peak_mb"][model] = peak_colorize_mb(model, photo)
            print(f"{model}: {results['peak_mb'][model]:.0f} MB", file=sys.stderr)
        if args.app:
            small = Path(scratch) / "client.jpg"
            small.write_bytes(photo_jpeg(*map(int, args.app_size.split("x"))))
            results["app"] = {"clients": args.clients, "photo": args.app_size, "model": models[0],
                              "peak_mb": peak_app_mb(small, args.clients, models[0])}
    lines = [f"Peak resident memory of one process colorizing a {args.size} JPEG to PNG:", "",
             "| model | peak MB |", "|---|---|"]
    lines += [f"| {model} | {mb:.0f} |" for model, mb in results["peak_mb"].items()]
    if "app" in results:
        app = results["app"]
        lines += ["", f"`python app.py` serving {app['clients']} concurrent {app['photo']} requests "
                      f"({app['model']}): peak {app['peak_mb']:.0f} MB."]
    write_report(args.out, results, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
