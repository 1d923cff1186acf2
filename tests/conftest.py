"""Settings and fixtures shared by every test module.

The environment is fixed before anything imports gradio or colorize: no analytics calls, no
Hub traffic, and a checkpoints folder of our own holding every table model with seeded random
weights, so the studio's tests exercise real models without depending on training runs.
"""

import os
import shutil
import socket
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
TEST_CHECKPOINTS = Path(tempfile.mkdtemp(prefix="colorize-test-checkpoints-"))
os.environ["COLORIZE_CHECKPOINTS"] = str(TEST_CHECKPOINTS)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from colorize.archs import ARCHITECTURES, build_architecture  # noqa: E402
from colorize.hub import save_pretrained  # noqa: E402
from colorize.zoo import MODELS  # noqa: E402

# The test machine is shared with long training jobs: with several intra-op threads fighting
# over busy cores, even a tiny tensor operation waits ~15 ms for its threads. One thread keeps
# the suite fast and its numbers deterministic.
torch.set_num_threads(1)


def _fill_test_checkpoints() -> None:
    for name, spec in MODELS.items():
        if not ARCHITECTURES[spec.arch].needs_weights:
            continue
        torch.manual_seed(0)
        model = build_architecture(spec.arch, **spec.kwargs)
        save_pretrained(model, TEST_CHECKPOINTS / name, {"arch": spec.arch, "kwargs": spec.kwargs,
                                                         "working_size": spec.working_size})


_fill_test_checkpoints()


def pytest_unconfigure(config):
    shutil.rmtree(TEST_CHECKPOINTS, ignore_errors=True)


def smooth_colour_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A colourful (H, W, 3) uint8 photo-like image: gradients and a few coloured discs."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    image = np.stack([0.5 + 0.5 * np.sin(6 * xs + rng.uniform(0, 6)), 0.5 + 0.5 * np.cos(5 * ys),
                      0.5 + 0.4 * np.sin(4 * (xs + ys))], axis=-1)
    for _ in range(3):
        cy, cx, radius = rng.uniform(0, 1, 3) * [ys.max(), xs.max(), 0.3]
        image[(ys - cy) ** 2 + (xs - cx) ** 2 < radius**2] = rng.uniform(0, 1, 3)
    return (image * 255).round().astype(np.uint8)


@pytest.fixture(scope="session")
def colour_photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "colour.jpg"
    Image.fromarray(smooth_colour_photo(90, 120)).save(path, quality=95)
    return path


@pytest.fixture(scope="session")
def gray_photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "gray.png"
    Image.fromarray(smooth_colour_photo(70, 50)).convert("L").save(path)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def studio_url():
    """The real studio served in-process on a free loopback port."""
    import app

    port = free_port()
    app.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.LAUNCH)
    yield f"http://127.0.0.1:{port}/"
    app.demo.close()
