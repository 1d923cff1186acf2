"""Video colorization: flicker, accuracy, speed and memory, on real clips.

    python bench/video.py                          # -> bench/results/video.{md,json}, assets/video-strip.png
    python bench/video.py --frames 60 --skip speed memory   # the parts skipped keep their last figures

Quality: the colour clips of ../shared/data/video (see its README) and clips made from
validation photos by a simulated camera (a slow pan with a zoom) are turned gray, coloured
frame by frame (``steady=False``, exactly like photos) and with the colour carried along the
flow (``steady=True``), and compared with the truth: the warping error of Lai et al. 2018
(flow and occlusions of the true frames; RGB as in the paper, and chroma alone) and the mean
per-frame PSNR (near-black frames of fades left out), beside gray and the truth itself.

Speed: a gray clip file in, an H.264 file out, end to end, at 640x360 and 1280x720, beside
colouring the same decoded frames one by one as photos (``colorize_with_details``) in the same
run. Memory: peak RSS of fresh processes colouring a 100-frame and a 3000-frame clip.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from colorize import DEFAULT_MODEL, colorize_video, colorize_with_details, load_model  # noqa: E402
from colorize.color import gray_image, mean_chroma  # noqa: E402
from colorize.io import find_images  # noqa: E402
from colorize.metrics import psnr  # noqa: E402
from colorize.temporal import warping_errors  # noqa: E402
from colorize.video import colorize_frames  # noqa: E402

from report import prepare, write_report  # noqa: E402

DATA = Path(os.environ.get("COLORIZE_VIDEO_DATA", ROOT.parent / "shared" / "data" / "video"))
VAL = ROOT.parent / "shared" / "data" / "val"
DARK = 16  # frames whose mean gray is below this (fades to black) are left out of PSNR
MEMORY_RUN = """
import sys
from colorize import colorize_video, keep_freed_memory
keep_freed_memory()
colorize_video(sys.argv[1], sys.argv[2], working_size=int(sys.argv[3]))
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def read_frames(path: Path, count: int | None = None) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in itertools.islice(container.decode(video=0), count)]


def write_frames(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    """A test clip as a user's file would be: H.264, yuv420p, high quality."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "12", "preset": "veryfast"})
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode())
    return path


def camera_clip(photo: Path, frames: int, size: tuple[int, int] = (192, 320)) -> list[np.ndarray]:
    """A slow pan across a photo with a gentle zoom: the motion of a hand-held camera."""
    image = Image.open(photo).convert("RGB")
    height, width = size
    clip = []
    for t in range(frames):
        zoom = 1 + 0.15 * t / frames
        box_w, box_h = image.width / zoom * 0.8, image.height / zoom * 0.8
        left = (image.width - box_w) * t / max(1, frames - 1)
        top = (image.height - box_h) * 0.5
        clip.append(np.asarray(image.resize((width, height), Image.Resampling.BICUBIC, box=(left, top, left + box_w, top + box_h))))
    return clip


def quality_clips(frames: int) -> dict[str, list[np.ndarray]]:
    clips = {path.name: read_frames(path, frames) for path in sorted(DATA.glob("*.mp4"))}
    clips = {name: truth for name, truth in clips.items() if mean_chroma(truth[0]) >= 2}  # the colour clips
    for photo in find_images([VAL])[:2] if VAL.is_dir() else []:
        clips[f"val {photo.stem} (camera)"] = camera_clip(photo, frames)
    return clips


def measure_quality(name: str, truth: list[np.ndarray], network: torch.nn.Module) -> dict:
    gray = [gray_image(frame) for frame in truth]
    videos = {
        "truth": truth,
        "gray": gray,
        "frame by frame": list(colorize_frames(gray, network, steady=False)),
        "steady": list(colorize_frames(gray, network, steady=True)),
    }
    errors = warping_errors(videos, truth)
    lit = [i for i, frame in enumerate(gray) if frame.mean() >= DARK]
    row = {"clip": name, "frames": len(truth), "size": f"{truth[0].shape[1]}x{truth[0].shape[0]}"}
    for label, frames in videos.items():
        row[label] = {"warping_rgb": errors[label][0], "warping_chroma": errors[label][1],
                      "psnr": float(np.mean([psnr(frames[i], truth[i]) for i in lit])) if label != "truth" else None}
    print(name, {k: v for k, v in row.items() if isinstance(v, dict)}, flush=True)
    return row


def measure_speed(source: Path, frames: int, network: torch.nn.Module, scratch: Path) -> dict:
    """fps end to end (file in, file out), steady and frame by frame, and as photos in memory."""
    decoded = read_frames(source, frames)
    clip = write_frames(scratch / f"gray-{decoded[0].shape[1]}.mp4", [gray_image(frame) for frame in decoded])
    colorize_video(clip, scratch / "warm.mp4", network)  # first call: allocations, caches
    row = {"size": f"{decoded[0].shape[1]}x{decoded[0].shape[0]}", "frames": len(decoded)}
    for label, steady in (("video, steady", True), ("video, frame by frame", False)):
        start = time.perf_counter()
        colorize_video(clip, scratch / "out.mp4", network, steady=steady)
        row[label] = len(decoded) / (time.perf_counter() - start)
    gray = read_frames(clip)
    start = time.perf_counter()
    for frame in gray:
        colorize_with_details(frame, network)
    row["photos one by one"] = len(gray) / (time.perf_counter() - start)
    print(row, flush=True)
    return row


def measure_memory(source: Path, counts: list[int], working_size: int, scratch: Path) -> dict:
    """Peak RSS (MB) of a fresh process colouring a clip of each length (the source's frames, looped)."""
    frames = [np.asarray(Image.fromarray(f).resize((320, 180))) for f in read_frames(source, 100)]
    peaks = {}
    for count in counts:
        clip = write_frames(scratch / f"long-{count}.mp4", [gray_image(frames[i % len(frames)]) for i in range(count)])
        done = subprocess.run([sys.executable, "-c", MEMORY_RUN, str(clip), str(scratch / "out.mp4"), str(working_size)],
                              cwd=ROOT, check=True, capture_output=True, text=True)
        peaks[count] = int(done.stdout.split()[-1]) / 1024
        print(count, "frames:", peaks[count], "MB", flush=True)
    return peaks


def still_strip(scratch: Path, network: torch.nn.Module, out: Path) -> None:
    """The README's strip: the real black-and-white clip, side bars cropped, gray over colour."""
    frames = read_frames(DATA / "chaplin_bw.mp4")
    columns = np.flatnonzero(np.max(frames[len(frames) // 2], axis=(0, 2)) > 24)
    left, right = columns[0] // 2 * 2, (columns[-1] + 1) // 2 * 2
    clip = write_frames(scratch / "chaplin.mp4", [np.ascontiguousarray(frame[:, left:right]) for frame in frames])
    result = colorize_video(clip, scratch / "chaplin-colour.mp4", network)
    Image.fromarray(result.strip).save(out, optimize=True)


def table(results: dict) -> str:
    lines = [f"{results['machine']}; model `{results['model']}`.", ""]
    if results.get("quality"):
        lines += ["Warping error (Lai et al. 2018; lower is steadier) in RGB and in chroma (a, b only) x 1000, "
                  "and mean per-frame PSNR (dB) against the truth:", "",
                  "| clip | frames | truth: warp RGB / chroma | gray: warp / chroma, PSNR | frame by frame: warp / chroma, PSNR | steady: warp / chroma, PSNR |",
                  "|---|---|---|---|---|---|"]
        for row in results["quality"]:
            cells = [f"{row[k]['warping_rgb'] * 1e3:.3f} / {row[k]['warping_chroma'] * 1e3:.4f}"
                     + (f", {row[k]['psnr']:.2f}" if row[k]["psnr"] is not None else "") for k in ("truth", "gray", "frame by frame", "steady")]
            lines.append(f"| {row['clip']} ({row['size']}) | {row['frames']} | " + " | ".join(cells) + " |")
        mean = results["quality_mean"]
        lines.append("| **mean** | | " + " | ".join(
            f"**{mean[k]['warping_rgb'] * 1e3:.3f} / {mean[k]['warping_chroma'] * 1e3:.4f}**" + (f", **{mean[k]['psnr']:.2f}**" if mean[k]["psnr"] is not None else "")
            for k in ("truth", "gray", "frame by frame", "steady")) + " |")
    if results.get("speed"):
        lines += ["", "Frames per second, end to end (gray H.264 file in, colour H.264 file out), beside the same frames coloured one by one as photos in memory:", "",
                  "| size | frames | video, steady | video, frame by frame | photos one by one | steady / photos |", "|---|---|---|---|---|---|"]
        for row in results["speed"]:
            lines.append(f"| {row['size']} | {row['frames']} | {row['video, steady']:.2f} | {row['video, frame by frame']:.2f} | "
                         f"{row['photos one by one']:.2f} | {row['video, steady'] / row['photos one by one']:.2f}x |")
    if results.get("memory"):
        lines += ["", f"Peak RSS of one process colouring a 320x180 clip (working size {results['memory_working_size']}):", "",
                  "| frames | peak MB |", "|---|---|"] + [f"| {count} | {mb:.0f} |" for count, mb in results["memory"].items()]
    return "\n".join(lines)


def mean_row(rows: list[dict]) -> dict:
    return {label: {key: (float(np.mean([row[label][key] for row in rows])) if rows[0][label][key] is not None else None)
                    for key in ("warping_rgb", "warping_chroma", "psnr")} for label in ("truth", "gray", "frame by frame", "steady")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100, help="frames per clip for the quality part")
    parser.add_argument("--speed-frames", type=int, default=60)
    parser.add_argument("--memory-frames", type=int, nargs="+", default=[100, 3000])
    parser.add_argument("--memory-working-size", type=int, default=64, help="small, so 3000 frames take about a minute")
    parser.add_argument("--skip", nargs="*", default=[], choices=["quality", "speed", "memory", "strip"])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "video")
    parser.add_argument("--strip", type=Path, default=ROOT / "assets" / "video-strip.png")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"The video clips are not at {DATA}: set COLORIZE_VIDEO_DATA (see ../shared/data/video/README.md).")
    prepare([], args.threads)
    network = load_model("default")
    previous = args.out.with_suffix(".json")
    results: dict = json.loads(previous.read_text()) if previous.exists() else {}  # parts skipped keep their figures
    results |= {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, torch {torch.__version__}, PyAV {av.__version__}",
                     "model": DEFAULT_MODEL}
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        if "quality" not in args.skip:
            results["quality"] = [measure_quality(name, truth, network) for name, truth in quality_clips(args.frames).items()]
            results["quality_mean"] = mean_row(results["quality"])
        if "speed" not in args.skip:
            results["speed"] = [measure_speed(DATA / name, args.speed_frames, network, scratch)
                                for name in ("airplane_field.mp4", "cockatoo.mp4")]
        if "memory" not in args.skip:
            results["memory"] = measure_memory(DATA / "airplane_field.mp4", args.memory_frames, args.memory_working_size, scratch)
            results["memory_working_size"] = args.memory_working_size
        if "strip" not in args.skip:
            still_strip(scratch, network, args.strip)
    write_report(args.out, results, table(results))


if __name__ == "__main__":
    main()
