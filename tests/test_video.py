"""Tests for video colorization (``colorize.video``, ``colorize.temporal``) on real encoded files.

Every clip is written here with PyAV (H.264, AAC, MP3, PCM), a few frames of a small size, so
the tests run offline in seconds; the bad inputs are real files of each kind. The models are
the seeded random weights of ``conftest.py`` at a small working size: these tests check the
plumbing and the temporal blend, not the quality of the colour (``bench/video.py`` does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from colorize import ColorizeError, InvalidVideoError, colorize_video
from colorize.color import image_to_lab
from colorize.hints import Point
from colorize.temporal import ColourCarrier, l_to_uint8, warping_errors
from colorize.video import STRIP_HEIGHT, colorize_frames, probe_video

REPO_ROOT = Path(__file__).resolve().parent.parent
SMALL = 64  # working size: the network part of every test stays cheap


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colour texture (random blobs) that optical flow can follow."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 8 + 2, width // 8 + 2, 3), dtype=np.uint8)
    big = torch.nn.functional.interpolate(torch.from_numpy(coarse).permute(2, 0, 1)[None].float(),
                                          scale_factor=8, mode="bicubic", align_corners=False)
    return big[0].permute(1, 2, 0).clamp(0, 255).byte().numpy()


def panning(frames: int, height: int = 64, width: int = 96, step: int = 2, seed: int = 0) -> list[np.ndarray]:
    """A camera panning right over a texture, ``step`` pixels per frame."""
    scene = texture(height + 8, width + frames * step + 8, seed)
    return [np.ascontiguousarray(scene[4 : 4 + height, 4 + i * step : 4 + i * step + width]) for i in range(frames)]


def write_clip(path: Path, frames: list[np.ndarray], *, fps: int = 12, times: list[float] | None = None,
               rotation: int = 0, audio: str | None = "aac", faststart: bool = False) -> Path:
    """Encode ``frames`` (H.264, yuv420p) with ``audio`` (an encoder name) tone as long as the clip;
    ``times`` (seconds) gives a variable frame rate."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "23", "preset": "ultrafast"})
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        video.set_display_rotation(rotation)
        sound = container.add_stream(audio, rate=16000) if audio else None
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = round(1000 * (times[index] if times else index / fps))
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if sound is not None:
            _tone(container, sound, seconds=len(frames) / fps)
    return path


def _tone(container: av.container.OutputContainer, sound: av.audio.stream.AudioStream, seconds: float) -> None:
    samples = np.sin(np.arange(int(16000 * seconds)) * 0.2).astype(np.float32)[None] * 0.3
    frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
    frame.sample_rate, frame.pts = 16000, 0
    container.mux(sound.encode(frame))
    container.mux(sound.encode())


def read_clip(path: Path) -> tuple[list[np.ndarray], list[float], av.container.InputContainer]:
    """Every frame (RGB), its time in seconds, and the (closed) container to inspect."""
    with av.open(str(path)) as container:
        frames, times = [], []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.time))
    return frames, times, container


def stream_facts(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        first = next(container.decode(video))
        return {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (first.width, first.height),
            "rotation": first.rotation,
            "audio": [s.codec_context.codec.canonical_name for s in container.streams.audio],
            "format": container.format.name,
        }


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- Good clips ---------------------------------------------------------------------------


def test_colour_clip_keeps_size_timing_and_sound_and_plays_in_a_browser(tmp_path):
    source = write_clip(tmp_path / "in.mp4", panning(10))
    out = tmp_path / "out"
    out.mkdir()
    seen = []
    result = colorize_video(source, out / "clip.mp4", working_size=SMALL, progress=lambda done, total: seen.append((done, total)))
    facts = stream_facts(result.path)
    assert facts == {"codec": "h264", "pix_fmt": "yuv420p", "size": (96, 64), "rotation": 0, "audio": ["aac"],
                     "format": facts["format"]}
    assert "mp4" in facts["format"]
    frames, times, _ = read_clip(result.path)
    assert times == pytest.approx([i / 12 for i in range(10)], abs=1e-3)
    assert result.frames == 10 and seen[-1] == (10, 10) and [d for d, _ in seen] == list(range(1, 11))
    assert np.mean([np.abs(f.astype(int) - f.mean(axis=-1, keepdims=True)).mean() for f in frames]) > 0.5  # not gray
    assert result.strip.shape[0] == 2 * STRIP_HEIGHT and result.strip.shape[2] == 3
    assert leftovers(out) == ["clip.mp4"]  # the temporary file was renamed, nothing else left


def test_variable_frame_rate_timestamps_are_kept(tmp_path):
    times = [0.0, 0.04, 0.2, 0.25, 0.5, 0.52, 0.9, 1.3]
    source = write_clip(tmp_path / "vfr.mp4", panning(len(times)), times=times, audio=None)
    result = colorize_video(source, tmp_path / "out.mp4", working_size=SMALL)
    assert read_clip(result.path)[1] == pytest.approx(times, abs=2e-3)
    assert stream_facts(result.path)["audio"] == []


def test_portrait_phone_clip_keeps_its_rotation_and_the_strip_is_upright(tmp_path):
    source = write_clip(tmp_path / "phone.mp4", panning(6, height=48, width=96), rotation=90)
    assert probe_video(source).rotation == 90
    result = colorize_video(source, tmp_path / "out.mp4", working_size=SMALL)
    facts = stream_facts(result.path)
    assert (facts["size"], facts["rotation"]) == ((96, 48), 90)  # coded landscape, shown portrait
    assert result.strip.shape[1] == 4 * round(STRIP_HEIGHT * 48 / 96)  # four portrait thumbnails


def test_sound_mp4_cannot_hold_is_reencoded_and_mp3_is_copied(tmp_path):
    pcm = write_clip(tmp_path / "pcm.mov", panning(4), audio="pcm_s16le")
    mp3 = write_clip(tmp_path / "mp3.mp4", panning(4), audio="libmp3lame")
    assert stream_facts(colorize_video(pcm, tmp_path / "a.mp4", working_size=SMALL).path)["audio"] == ["aac"]
    assert stream_facts(colorize_video(mp3, tmp_path / "b.mp4", working_size=SMALL).path)["audio"] == ["mp3"]


def test_odd_sized_clip_loses_at_most_one_pixel_per_side(tmp_path):
    frames = [np.ascontiguousarray(f[:63, :95]) for f in panning(3)]
    with av.open(str(tmp_path / "odd.mkv"), "w") as container:  # yuv444p: H.264 that can hold odd sides
        video = container.add_stream("libx264", rate=12, options={"preset": "ultrafast"})
        video.height, video.width, video.pix_fmt = 63, 95, "yuv444p"
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode())
    result = colorize_video(tmp_path / "odd.mkv", tmp_path / "out.mp4", working_size=SMALL)
    assert stream_facts(result.path)["size"] == (94, 62)


def test_4k_clip_is_coloured_at_full_size(tmp_path):
    frame = np.repeat(np.repeat(texture(54, 96)[:54, :96], 40, axis=0), 40, axis=1)
    source = write_clip(tmp_path / "uhd.mp4", [frame], audio=None)
    result = colorize_video(source, tmp_path / "out.mp4", working_size=SMALL)
    assert stream_facts(result.path)["size"] == (3840, 2160) and result.frames == 1


def test_command_line_colours_clips_and_photos_and_reports_a_bad_clip(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_clip(folder / "clip.mp4", panning(5))
    _corrupt(folder)
    Image.fromarray(panning(1)[0]).save(folder / "photo.png")
    done = subprocess.run([sys.executable, "-m", "colorize", str(folder), "--out", str(tmp_path / "out"), "--working-size", "64"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1  # one file failed
    assert "failed:" in done.stderr and "corrupt.mp4" in done.stderr and "not a video we can read" in done.stderr
    assert "frame/s" in done.stderr and "5/5" in done.stderr  # the good clip's progress bar
    assert "2 of 3 files written" in done.stderr
    assert leftovers(tmp_path / "out") == ["clip.mp4", "photo.png"]
    assert stream_facts(tmp_path / "out" / "clip.mp4")["audio"] == ["aac"]


# --- Bad clips ----------------------------------------------------------------------------


def _corrupt(folder: Path) -> Path:
    (folder / "corrupt.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    return folder / "corrupt.mp4"


def _truncated_index_at_end(folder: Path) -> Path:
    data = write_clip(folder / "whole.mp4", panning(8)).read_bytes()
    (folder / "whole.mp4").unlink()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 2])  # the index (moov) is at the end: gone
    return folder / "cut.mp4"


def _truncated_index_first(folder: Path) -> Path:
    frames = [texture(64, 96, seed) for seed in range(30)]  # noise-like: every frame costs bytes
    data = write_clip(folder / "whole.mp4", frames, faststart=True, audio=None).read_bytes()
    (folder / "whole.mp4").unlink()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 2])  # the index says 30 frames, half are there
    return folder / "cut.mp4"


def _no_streams(folder: Path) -> Path:
    with av.open(str(folder / "empty.mp4"), "w") as container:  # MP4 drops a track with no frames
        video = container.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    return folder / "empty.mp4"


def _zero_frames(folder: Path) -> Path:
    with av.open(str(folder / "zero.mkv"), "w") as container:
        video = container.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        _tone(container, container.add_stream("aac", rate=16000), seconds=0.5)
    return folder / "zero.mkv"


def _audio_only(folder: Path) -> Path:
    with av.open(str(folder / "song.m4a"), "w") as container:
        _tone(container, container.add_stream("aac", rate=16000), seconds=0.5)
    return folder / "song.m4a"


@pytest.mark.parametrize(("make", "message"), [
    (_corrupt, "not a video we can read"),
    (_truncated_index_at_end, "not a video we can read"),
    (_truncated_index_first, "incomplete"),
    (_no_streams, "no video track"),
    (_zero_frames, "no frames"),
    (_audio_only, "sound but no pictures"),
    (lambda folder: folder / "missing.mp4", "There is no video file"),
])
def test_bad_clips_get_a_plain_message_and_leave_no_output(tmp_path, make, message):
    source_folder, out = tmp_path / "in", tmp_path / "out"
    source_folder.mkdir(), out.mkdir()
    source = make(source_folder)
    with pytest.raises(InvalidVideoError, match=message):
        colorize_video(source, out / "clip.mp4", working_size=SMALL)
    assert leftovers(out) == []


def test_a_clip_over_the_length_limit_is_refused_before_any_work(tmp_path):
    source = write_clip(tmp_path / "long.mp4", panning(12), fps=4)  # 3 s
    with pytest.raises(InvalidVideoError, match="longer than the limit of 2 s"):
        colorize_video(source, tmp_path / "out.mp4", working_size=SMALL, max_seconds=2)
    assert not (tmp_path / "out.mp4").exists()
    assert colorize_video(source, tmp_path / "out.mp4", working_size=SMALL, max_seconds=5).frames == 12


# --- Temporal stability -------------------------------------------------------------------


class FlickeringModel(torch.nn.Module):
    """A real network stand-in whose colour jumps at random on every call: the worst case of
    frame-by-frame colour, a steady blue-ish tint plus noise that differs from frame to frame."""

    def __init__(self) -> None:
        super().__init__()
        self.tint = torch.nn.Parameter(torch.tensor([-5.0, -20.0]).view(1, 2, 1, 1))
        self.generator = torch.Generator().manual_seed(0)

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        jumps = torch.randn(l.shape[0], 2, 1, 1, generator=self.generator) * 15
        return (self.tint + jumps).expand(-1, -1, *l.shape[2:])


def test_steady_colour_flickers_far_less_than_frame_by_frame():
    truth = panning(16, height=96, width=128, step=3)
    gray = [np.repeat(f.mean(axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1) for f in truth]
    jumpy = list(colorize_frames(gray, FlickeringModel(), working_size=SMALL, steady=False))
    steady = list(colorize_frames(gray, FlickeringModel(), working_size=SMALL, steady=True))
    errors = warping_errors({"jumpy": jumpy, "steady": steady, "gray": gray}, truth)
    assert errors["steady"][1] < 0.5 * errors["jumpy"][1]  # chroma flicker at most half
    assert errors["gray"][1] < 1e-9  # no colour, no colour flicker


def test_a_hard_cut_starts_the_colour_afresh():
    carrier = ColourCarrier()
    first, second = panning(2, seed=1), panning(1, seed=2)
    red, blue = np.full((64, 96, 2), 30, np.float32), np.full((64, 96, 2), -30, np.float32)
    shown = [carrier(l_to_uint8(frame.mean(axis=-1) / 2.55), ab) for frame, ab in [(first[0], red), (first[1], blue), (second[0], blue)]]
    assert 0 < shown[1].mean() < 30  # same shot: the red is carried into the blue
    np.testing.assert_array_equal(shown[2], blue)  # new shot: the new prediction alone
    assert carrier.new_shots == 2


def test_warping_error_is_zero_for_a_still_clip_and_grows_with_flicker():
    still = panning(4, step=0)
    flicker = [np.clip(f.astype(int) + (i % 2) * 40, 0, 255).astype(np.uint8) for i, f in enumerate(still)]
    errors = warping_errors({"still": still, "flicker": flicker}, still)
    assert errors["still"] == (0, 0)
    assert errors["flicker"][0] > 0.01


def test_video_benchmark_runs_on_tiny_clips(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("airplane_field.mp4", "cockatoo.mp4", "chaplin_bw.mp4"):
        write_clip(data / name, panning(6, seed=len(name)), audio=None)
    out = tmp_path / "video"
    subprocess.run([sys.executable, "bench/video.py", "--frames", "4", "--speed-frames", "3", "--memory-frames", "3", "6",
                    "--out", str(out), "--strip", str(tmp_path / "strip.png")], cwd=REPO_ROOT, check=True, timeout=300,
                   env={**os.environ, "COLORIZE_VIDEO_DATA": str(data), "OMP_NUM_THREADS": "1"}, capture_output=True)
    results = json.loads(out.with_suffix(".json").read_text())
    assert [row["clip"] for row in results["quality"]][:3] == ["airplane_field.mp4", "chaplin_bw.mp4", "cockatoo.mp4"]
    assert results["quality_mean"]["truth"]["warping_rgb"] > 0 and results["speed"][0]["photos one by one"] > 0
    assert set(results["memory"]) == {"3", "6"} and Image.open(tmp_path / "strip.png").height == 2 * STRIP_HEIGHT


# --- Hints on the first frame, carried through the shot ------------------------------------------


def small_l(frame: np.ndarray) -> np.ndarray:
    return l_to_uint8(frame.mean(axis=-1) / 2.55)


def test_command_line_carries_hints_on_a_clips_first_frame_through_it(tmp_path):
    gray = [np.repeat(f.mean(axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1) for f in panning(5)]
    source = write_clip(tmp_path / "clip.mp4", gray)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": 48, "y": 32, "color": "#dc2828"}]))
    done = subprocess.run([sys.executable, "-m", "colorize", str(source), "--hints", str(hints), "--model", "levin",
                           "--out", str(tmp_path / "out"), "--working-size", "64"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    frames = read_clip(tmp_path / "out" / "clip.mp4")[0]
    assert len(frames) == 5 and all(image_to_lab(frame)[..., 1].mean() > 15 for frame in frames)  # red all through


def test_hints_follow_what_they_were_painted_on_and_end_at_a_new_shot():
    frames = panning(8, step=3)                            # the content moves 3 px left per frame
    hints = np.zeros((64, 96, 3), np.float32)
    hints[30:33, 60:63] = (20, -40, 1)
    carrier = ColourCarrier(hints=hints)
    for frame in frames:
        carrier.follow(small_l(frame))
    rows, cols = np.nonzero(carrier.hints[..., 2])
    assert 6 <= len(rows) <= 12
    assert abs(rows.mean() - 31) <= 1 and abs(cols.mean() - (61 - 7 * 3)) <= 1.5
    np.testing.assert_array_equal(carrier.hints[rows, cols, :2], np.tile([20, -40], (len(rows), 1)))  # moved, not blurred
    carrier.follow(small_l(panning(1, seed=5)[0]))           # a different scene
    assert carrier.hints is None and carrier.new_shots == 2


def test_hints_on_the_upright_first_frame_colour_every_frame_of_a_phone_clip(tmp_path):
    """A portrait phone clip is coded sideways; hints are placed on it as it is shown."""
    coded = [np.repeat(f.mean(axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1) for f in panning(10, height=48, width=96, step=1)]
    points = [Point(24, 10, (220, 40, 40)), Point(24, 86, (40, 180, 110))]  # red at the top, green at the bottom, upright
    for frame in colorize_frames(coded, "levin", hints=points, working_size=SMALL, rotation=90):
        upright = image_to_lab(np.ascontiguousarray(np.rot90(frame, 1)))
        assert upright.shape[:2] == (96, 48)
        top, bottom = upright[:20].mean(axis=(0, 1)), upright[-20:].mean(axis=(0, 1))
        assert top[1] > 25 and bottom[1] < -5                        # red on top, green below
    with pytest.raises(ColorizeError, match="does not take colour hints"):
        next(colorize_frames(coded, "default", hints=points))

    source = write_clip(tmp_path / "phone.mp4", coded, rotation=90)
    result = colorize_video(source, tmp_path / "out.mp4", "levin", hints=points, working_size=SMALL)
    assert result.frames == 10
    colours = [image_to_lab(np.rot90(f, 1).copy()) for f in read_clip(tmp_path / "out.mp4")[0]]
    assert all(c[:20, :, 1].mean() > 25 and c[-20:, :, 1].mean() < -5 for c in colours)
