"""Command line: colorize files and folders (photos and video clips), or list the models.

    python -m colorize old_photos/ scan.tif --model default --out coloured/ --jobs 2
    python -m colorize clip.mp4 --out coloured/           # -> coloured/clip.mp4, with its sound
    python -m colorize family.jpg --hints hints.json      # guided: points or a PNG stroke layer
    python -m colorize clip.mp4 --hints hints.json        # hints on the first frame follow the shot
    python -m colorize --list-models

Every photo becomes ``OUT/<stem>.png`` at its full resolution, every clip ``OUT/<stem>.mp4``
(``colorize.video``, one after another, each with a bar of frames, frames/s and time left). A file that cannot be read is
reported and skipped; the exit status is 1 if any file failed, so scripts notice. Big
batches run in one worker process per core (``colorize.files``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from .errors import ColorizeError
from .files import colorize_files, default_jobs
from .hints import read_hints_file
from .hub import has_weights, load_model
from .io import IMAGE_SUFFIXES, find_images
from .runtime import keep_freed_memory
from .video import VIDEO_SUFFIXES, colorize_video, is_video_file
from .zoo import DEFAULT_MODEL, MODELS, list_guided_models


def print_models() -> None:
    """One model per line, name first: name, status, working size, kind, description."""
    for name, spec in MODELS.items():
        status = "ready" if has_weights(name) else "not trained yet"
        default = " (default)" if name == DEFAULT_MODEL else ""
        kind = "+".join(kind for kind, yes in (("automatic", spec.automatic), ("guided", spec.guided)) if yes)
        print(f"{name}{default}\t{status}\t{spec.working_size}px\t{kind}\t{spec.description}")


def output_paths(inputs: list[Path], out: Path) -> dict[Path, Path]:
    """``OUT/<stem>.png`` for every input (``.mp4`` for a video clip); stems that collide get their parent folder's name,
    and names still taken (``scan.jpg`` beside ``scan.png``) a number, so no output overwrites another."""
    stems = [path.stem for path in inputs]
    paths: dict[Path, Path] = {}
    taken: set[str] = set()
    for path in inputs:
        base = f"{path.parent.name}_{path.stem}" if stems.count(path.stem) > 1 else path.stem
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}_{number}"
        taken.add(name)
        paths[path] = out / f"{name}{'.mp4' if is_video_file(path) else '.png'}"
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colorize", description="Bring colour back to black-and-white photos.")
    parser.add_argument("inputs", nargs="*", type=Path, help="image files and folders (searched recursively)")
    parser.add_argument("--model", default="default",
                        help="model name (see --list-models) or a weights folder; with --hints, default is the best guided model")
    parser.add_argument("--hints", type=Path, help="colour hints: JSON points [{x, y, color}] or a transparent PNG stroke layer "
                             "(for a clip: placed on its first frame, carried through the shot)")
    parser.add_argument("--out", type=Path, default=Path("colorized"), help="output folder (default: ./colorized)")
    parser.add_argument("--saturation", type=float, default=1.0, help="colour strength: 0 gray, 1 as predicted, >1 bolder")
    parser.add_argument("--working-size", type=int, help="override the model's working resolution (pixels per side)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads in all (0 = torch's default)")
    parser.add_argument("--jobs", type=int, default=0,
                        help="worker processes (0 = one per core for big batches, none for a few photos)")
    parser.add_argument("--list-models", action="store_true", help="print the available models and exit")
    args = parser.parse_args(argv)
    keep_freed_memory()

    if args.list_models:
        print_models()
        return 0
    if not args.inputs:
        parser.error("give at least one image file or folder (or --list-models)")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        inputs = find_images(args.inputs, IMAGE_SUFFIXES | VIDEO_SUFFIXES)
    except ColorizeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not inputs:
        print("error: no image or video files found in the given paths.", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    if args.hints is not None and args.model == "default":
        args.model = list_guided_models()[0]
    model = Path(args.model) if Path(args.model).is_dir() else args.model
    try:
        network = load_model(model)
        hints = read_hints_file(args.hints) if args.hints is not None else None
        if hints is not None and not network.accepts_hints:
            raise ColorizeError(f"Model {args.model!r} does not take colour hints; guided models: {', '.join(list_guided_models())}.")
    except ColorizeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    targets = output_paths(inputs, args.out)
    photos = {source: target for source, target in targets.items() if not is_video_file(source)}
    clips = {source: target for source, target in targets.items() if is_video_file(source)}
    options = {"saturation": args.saturation, "working_size": args.working_size}
    failures = 0
    results = colorize_files(photos, model, args.jobs or default_jobs(len(photos)), args.threads or None, hints=hints, **options)
    for source, error in tqdm(results, total=len(photos), desc="colorizing", unit="photo", disable=not photos):
        if error is not None:
            failures += 1
            tqdm.write(f"failed: {source}: {error}", file=sys.stderr)
    for source, target in clips.items():
        error = colorize_clip(source, target, network, {**options, "hints": hints})
        if error is not None:
            failures += 1
            print(f"failed: {source}: {error}", file=sys.stderr)
    noun = "files" if photos and clips else "clips" if clips else "photos"
    print(f"{len(inputs) - failures} of {len(inputs)} {noun} written to {args.out}", file=sys.stderr)
    return 1 if failures else 0


def colorize_clip(source: Path, target: Path, network: torch.nn.Module, options: dict) -> str | None:
    """Colour one video clip with a progress bar (frames, frames/s, time left); returns the
    plain-language error, or None."""
    with tqdm(desc=source.name, unit="frame") as bar:
        def progress(done: int, expected: int) -> None:
            bar.total = max(expected, done) or None
            bar.update(done - bar.n)

        try:
            colorize_video(source, target, network, progress=progress, **options)
        except ColorizeError as error:
            return str(error)
    return None


if __name__ == "__main__":
    sys.exit(main())
