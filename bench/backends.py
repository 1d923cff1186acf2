"""Is another CPU runtime worth it? Eager PyTorch vs torch.compile vs ONNX Runtime.

    python bench/backends.py                        # every trained automatic model -> bench/results/backends.{md,json}
    python bench/backends.py --models unet --backends eager compile --repeats 10

Times the network's forward pass alone, at the working resolution of a 1024x768 photo
(the rest of the pipeline does not change with the runtime), as the median of ``--repeats``
runs after warm-up. Eager is what colorize ships: channels-last weights and inputs, freed
memory kept. ``compile`` is ``torch.compile`` (inductor, which needs a C++ compiler), ``onnx``
exports the network with ``torch.onnx.export`` and runs it in ONNX Runtime (optional packages:
``pip install onnx onnxscript onnxruntime``). Each result is checked against eager's output,
so a fast but wrong runtime shows as such. Benchmarks print figures; they never assert.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from colorize.hub import load_model  # noqa: E402
from colorize.pipeline import working_shape  # noqa: E402
from colorize.zoo import get_spec  # noqa: E402

from report import prepare, write_report  # noqa: E402

BACKENDS = ("eager", "compile", "onnx")
Forward = Callable[[torch.Tensor], torch.Tensor]


def eager(network: torch.nn.Module) -> Forward:
    def forward(l_small: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return network(l_small.contiguous(memory_format=torch.channels_last))
    return forward


def compiled(network: torch.nn.Module) -> Forward:
    return eager(torch.compile(network))


def onnx_runtime(network: torch.nn.Module, example: torch.Tensor) -> Forward:
    import onnxruntime

    path = Path(tempfile.mkdtemp()) / "model.onnx"
    torch.onnx.export(network.float().eval(), (example,), str(path), input_names=["l"], output_names=["ab"],
                      dynamic_shapes=({2: "height", 3: "width"},), dynamo=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda l_small: torch.from_numpy(session.run(["ab"], {"l": l_small.numpy()})[0])


def available(backend: str) -> str | None:
    """Why ``backend`` cannot run here, or None when it can."""
    if backend == "onnx" and not all(importlib.util.find_spec(name) for name in ("onnx", "onnxscript", "onnxruntime")):
        return "not installed (pip install onnx onnxscript onnxruntime)"
    return None


def median_seconds(forward: Forward, example: torch.Tensor, repeats: int) -> float:
    for _ in range(2):  # warm-up: compilation, first-touch allocations
        forward(example)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(example)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def benchmark_model(model: str, backends: list[str], repeats: int, photo: tuple[int, int]) -> dict:
    network = load_model(model)
    height, width = working_shape(photo[1], photo[0], get_spec(model).working_size)
    example = torch.linspace(0, 100, height * width).reshape(1, 1, height, width)
    reference = eager(network)(example)
    results = {"working_shape": [height, width], "backends": {}}
    for backend in backends:
        reason = available(backend)
        if reason:
            results["backends"][backend] = {"skipped": reason}
            continue
        started = time.perf_counter()
        forward = {"eager": lambda: eager(network), "compile": lambda: compiled(network),
                   "onnx": lambda: onnx_runtime(network, example)}[backend]()
        difference = (forward(example).float() - reference.float()).abs().max().item()
        setup = time.perf_counter() - started
        seconds = median_seconds(forward, example, repeats)
        results["backends"][backend] = {"forward_s": seconds, "setup_s": setup, "max_ab_difference": difference}
        print(f"{model} {backend}: {seconds:.4f} s (setup {setup:.1f} s, max |Δab| {difference:.3g})", file=sys.stderr)
    return results


def markdown(results: dict) -> str:
    backends = results["backends"]
    lines = [f"Forward pass only, at the working resolution of a {results['photo']} photo; {results['threads']} threads, "
             f"torch {results['torch']}; median seconds (speed-up over eager); max |Δab| vs eager in Lab units.", "",
             "| model | working shape | " + " | ".join(backends) + " |", "|---" * (2 + len(backends)) + "|"]
    for name, entry in results["models"].items():
        eager_s = entry["backends"].get("eager", {}).get("forward_s")
        cells = []
        for backend in backends:
            figures = entry["backends"][backend]
            if "skipped" in figures:
                cells.append("skipped: " + figures["skipped"])
                continue
            speedup = f" ({eager_s / figures['forward_s']:.2f}x)" if eager_s else ""
            cells.append(f"{figures['forward_s']:.4f}{speedup}, Δ {figures['max_ab_difference']:.2g}")
        shape = "x".join(map(str, entry["working_shape"][::-1]))
        lines.append(f"| {name} | {shape} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", help="default: every trained automatic model")
    parser.add_argument("--backends", nargs="*", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--photo", default="1024x768", help="WIDTHxHEIGHT of the photo whose working size is timed")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/backends")
    args = parser.parse_args(argv)
    models = prepare(args.models, args.threads)
    photo = tuple(map(int, args.photo.split("x")))
    results = {"photo": args.photo, "threads": torch.get_num_threads(), "torch": torch.__version__,
               "backends": args.backends,
               "models": {model: benchmark_model(model, args.backends, args.repeats, photo) for model in models}}
    write_report(args.out, results, markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
