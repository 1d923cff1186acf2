"""Colorize a video file: frames streamed in, colour held steady over time, streamed out with its sound.

    clip ──decode──> frame ──working_lab──> small L ──model (4 frames a batch)──> ab
    ab ──ColourCarrier (flow from the previous frame)──> steady ab ──merge with the frame's own L──> encode

Only a few frames are in memory at any time, so a long film needs no more memory than a short
one. The output keeps the input's size, frame timestamps (variable frame rate included),
rotation flag and sound (copied as it is when MP4 can hold it, else re-encoded to AAC), and is
H.264 in MP4 with 4:2:0 chroma, which every browser plays. It is written under a temporary name
and renamed at the end, so a failure never leaves half a video behind.

The library is PyAV: FFmpeg's own libraries in its wheels, with libx264 and AAC encoders,
packet-level audio copy and the display matrix (rotation) of phone clips, none of which
OpenCV's VideoWriter offers. OpenCV is used only for its optical flow (``colorize.temporal``).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from .color import gray_image
from .errors import InvalidVideoError
from .hints import HintInput, hint_map
from .pipeline import (NETWORK_BATCH, ModelRef, _resolve, merge_full_resolution, predict_ab, takes_hints, working_lab,
                       working_shape)
from .temporal import CARRY, ColourCarrier, l_to_uint8

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ogv"})
"""File endings treated as video by the command line."""

MAX_FRAME_PIXELS = 8192 * 4320
"""The largest frame accepted (8K); 4K clips (3840x2160) colour at about a frame a second here."""

ENCODER_OPTIONS = {"crf": "18", "preset": "veryfast"}
"""libx264: visually lossless quality; ``veryfast`` keeps encoding a small share of the time per frame."""

COPYABLE_AUDIO = frozenset({"aac", "mp3", "opus", "alac", "flac", "ac3", "eac3"})
"""Audio codecs MP4 holds and browsers play, copied packet by packet; others become AAC."""

STRIP_FRAMES = 4
STRIP_HEIGHT = 160

Progress = Callable[[int, int], None]
"""Called after every frame with (frames done, frames expected; 0 when the file does not say)."""


@dataclass(frozen=True)
class VideoInfo:
    """What a clip's header and first frame say, checked before any work is done."""

    width: int
    height: int
    frames: int  # from the header; 0 when unknown
    fps: Fraction
    seconds: float
    rotation: int  # degrees counter-clockwise to turn the coded frames upright
    has_audio: bool


@dataclass(frozen=True)
class VideoResult:
    """A finished colorization: the output file and a still strip (gray row over colour row,
    ``STRIP_FRAMES`` frames across the clip, upright) to show beside it."""

    path: Path
    frames: int
    strip: np.ndarray


def is_video_file(path: Path) -> bool:
    """True for names ending in ``VIDEO_SUFFIXES`` (case-insensitive)."""
    return path.suffix.lower() in VIDEO_SUFFIXES


def _open(src: Path) -> av.container.InputContainer:
    """Open a file for reading, turning FFmpeg's refusals into one plain sentence."""
    if not src.is_file():
        raise InvalidVideoError(f'There is no video file at "{src}". Please check the name and try again.')
    try:
        return av.open(str(src), metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise _damaged(src) from error


def _damaged(src: Path) -> InvalidVideoError:
    return InvalidVideoError(
        f'"{src.name}" is not a video we can read: it is damaged, incomplete (an interrupted download or copy?) '
        "or in a format we do not know. Please try the original file, saved as MP4, MOV, MKV or WebM."
    )


def _video_stream(container: av.container.InputContainer, src: Path) -> av.video.stream.VideoStream:
    """The clip's picture track (cover art in a music file does not count)."""
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if streams:
        return streams[0]
    if container.streams.audio:
        raise InvalidVideoError(f'"{src.name}" holds sound but no pictures: it is an audio file. Please choose a video clip.')
    raise InvalidVideoError(f'"{src.name}" holds no video track. Please choose a video clip such as an MP4 file.')


def probe_video(src: str | os.PathLike, max_seconds: float | None = None) -> VideoInfo:
    """Check a clip before colouring it: it opens, has pictures, is within the limits.

    The first frame is decoded, so an empty clip is refused here and its rotation flag is known.

    Raises:
        InvalidVideoError: missing, damaged, audio only, no frames, frames too big, too long.
    """
    src = Path(src)
    with _open(src) as container:
        stream = _video_stream(container, src)
        first = _first_picture(container, stream, src)
        fps = stream.average_rate or stream.guessed_rate or Fraction(25)
        seconds = float(stream.duration * stream.time_base) if stream.duration else float(container.duration or 0) / av.time_base
        info = VideoInfo(first.width, first.height, stream.frames or round(seconds * fps), fps, seconds,
                         first.rotation, bool(container.streams.audio))
    _check_limits(src, info, max_seconds)
    return info


def _first_picture(container: av.container.InputContainer, stream: av.video.stream.VideoStream, src: Path) -> av.VideoFrame:
    try:
        first = next(container.decode(stream), None)
    except av.error.FFmpegError as error:
        raise _damaged(src) from error
    if first is None:
        raise InvalidVideoError(f'"{src.name}" has a video track with no frames in it. Please choose another clip.')
    return first


def first_frame(src: str | os.PathLike) -> np.ndarray:
    """The clip's first picture as it is shown (turned upright), (H, W, 3) uint8 RGB: the
    picture colour hints for the clip are placed on (``colorize_video(hints=...)``)."""
    src = Path(src)
    with _open(src) as container:
        first = _first_picture(container, _video_stream(container, src), src)
        return np.ascontiguousarray(np.rot90(first.to_ndarray(format="rgb24"), round(first.rotation / 90) % 4))


def _check_limits(src: Path, info: VideoInfo, max_seconds: float | None) -> None:
    if info.width * info.height > MAX_FRAME_PIXELS:
        raise InvalidVideoError(
            f'"{src.name}" has frames of {info.width} x {info.height} pixels, more than the 8K limit (8192 x 4320). '
            "Please scale it down and try again.")
    if max_seconds is not None and info.seconds > max_seconds:
        raise InvalidVideoError(
            f'"{src.name}" lasts {info.seconds:.1f} s, longer than the limit of {max_seconds:g} s. '
            "Please cut a shorter clip and try again.")


def _rotate(tensor: torch.Tensor, degrees: int) -> torch.Tensor:
    """Turn an (N, C, H, W) tensor counter-clockwise by a multiple of 90 degrees."""
    return torch.rot90(tensor, round(degrees / 90) % 4, dims=(2, 3))


def colorize_frames(
    frames: Iterable[np.ndarray],
    model: ModelRef = "default",
    *,
    hints: HintInput | None = None,
    working_size: int | None = None,
    saturation: float = 1.0,
    steady: bool = True,
    rotation: int = 0,
    device: str = "cpu",
) -> Iterator[np.ndarray]:
    """Colour a stream of (H, W, 3) uint8 RGB frames of one size, yielding them in order.

    The network sees each frame turned upright by ``rotation`` (phone clips are coded
    sideways); ``steady`` carries colour along the flow (``colorize.temporal``), otherwise
    each frame is coloured on its own, exactly like a photo. ``hints`` (guided models) are
    colours placed on the first frame as it is shown upright, in any form
    ``colorize.hints.hint_map`` reads; they follow what they were put on through the shot.
    """
    network, table_size = _resolve(model, device)
    stream = iter(frames)
    first = next(stream, None)
    if first is None:
        return
    shape = working_shape(*first.shape[:2], working_size or table_size or 256)
    first_hints = _first_frame_hints(network, hints, first.shape[:2], shape, rotation)
    carrier = ColourCarrier(CARRY if steady else 0.0, first_hints) if steady or first_hints is not None else None
    batch: list[np.ndarray] = []
    for frame in itertools.chain([first], stream):
        batch.append(frame)
        if len(batch) == NETWORK_BATCH:
            yield from _colour_batch(batch, network, shape, saturation, rotation, carrier)
            batch = []
    if batch:
        yield from _colour_batch(batch, network, shape, saturation, rotation, carrier)


def _first_frame_hints(network: torch.nn.Module, hints: HintInput | None, frame_size: tuple[int, int],
                       shape: tuple[int, int], rotation: int) -> np.ndarray | None:
    """Hints given on the upright first frame -> an (h, w, 3) map in the coded frame's layout."""
    if hints is None:
        return None
    takes_hints(network, hints_given=True)  # refuses a model that does not read hints
    upright = frame_size[::-1] if round(rotation / 90) % 2 else frame_size
    upright_shape = shape[::-1] if round(rotation / 90) % 2 else shape
    coded = _rotate(hint_map(hints, upright, upright_shape), -rotation)
    return np.ascontiguousarray(coded[0].permute(1, 2, 0).numpy())


def _colour_batch(batch: list[np.ndarray], network: torch.nn.Module, shape: tuple[int, int], saturation: float,
                  rotation: int, carrier: ColourCarrier | None) -> Iterator[np.ndarray]:
    l_small = torch.cat([working_lab(frame, shape)[:, :1] for frame in batch])
    motions, hints = [], []
    for l_one in l_small:
        motions.append(carrier.follow(l_to_uint8(l_one[0].numpy())) if carrier is not None else None)
        if carrier is not None and carrier.hints is not None:
            hints.append(torch.from_numpy(carrier.hints).permute(2, 0, 1))
    hint_maps = _rotate(torch.stack(hints), rotation) if hints else None
    if hint_maps is not None and len(hints) < len(batch):  # the hints ended at a new shot inside this batch
        hint_maps = torch.cat([hint_maps, hint_maps.new_zeros(len(batch) - len(hints), *hint_maps.shape[1:])])
    ab_small = _rotate(predict_ab(network, _rotate(l_small, rotation), hint_maps), -rotation)
    for frame, ab, found in zip(batch, ab_small, motions):
        if carrier is not None:
            steady = carrier.blend(np.ascontiguousarray(ab.permute(1, 2, 0).numpy()), found)
            ab = torch.from_numpy(steady).permute(2, 0, 1)
        yield merge_full_resolution(frame, ab[None], saturation)


class _Strip:
    """Collects ``STRIP_FRAMES`` evenly spaced (gray, colour) pairs as small upright thumbnails."""

    def __init__(self, frames: int, rotation: int) -> None:
        count = max(1, frames)
        self.wanted = sorted({min(count - 1, int((i + 0.5) * count / STRIP_FRAMES)) for i in range(STRIP_FRAMES)})
        self.turns = round(rotation / 90) % 4
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def offer(self, index: int, source: np.ndarray, colour: np.ndarray) -> None:
        if index in self.wanted:
            self.pairs.append((self._thumb(gray_image(source)), self._thumb(colour)))

    def _thumb(self, image: np.ndarray) -> np.ndarray:
        image = np.rot90(image, self.turns)
        width = max(1, round(image.shape[1] * STRIP_HEIGHT / image.shape[0]))
        return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((width, STRIP_HEIGHT), Image.Resampling.LANCZOS))

    def image(self) -> np.ndarray:
        """(2 * STRIP_HEIGHT, width, 3) uint8: gray frames above, coloured frames below."""
        return np.concatenate([np.concatenate(row, axis=1) for row in zip(*self.pairs)], axis=0)


class _Writer:
    """The output file: H.264 video created at the first frame, sound copied or re-encoded."""

    def __init__(self, path: Path, source: av.container.InputContainer, video: av.video.stream.VideoStream,
                 info: VideoInfo) -> None:
        self.container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
        self.audio_in = source.streams.audio[0] if source.streams.audio else None
        self.audio_out = self._add_audio(self.audio_in)
        self.video = self.container.add_stream("libx264", rate=info.fps, options=ENCODER_OPTIONS)
        self.video.width, self.video.height = info.width // 2 * 2, info.height // 2 * 2  # 4:2:0 needs even sides
        self.video.pix_fmt = "yuv420p"
        self.video.codec_context.time_base = video.time_base
        self.video.set_display_rotation(info.rotation)

    def _add_audio(self, audio: av.audio.stream.AudioStream | None) -> av.audio.stream.AudioStream | None:
        if audio is None:
            return None
        if audio.codec_context.codec.canonical_name in COPYABLE_AUDIO:
            return self.container.add_stream_from_template(audio)
        return self.container.add_stream("aac", rate=audio.rate or 48000)

    def audio(self, packet: av.Packet) -> None:
        """Copy one packet of sound, or re-encode it when MP4 cannot hold its codec."""
        if packet.dts is None:
            return
        if self.audio_out.codec_context.is_encoder:
            for frame in packet.decode():
                self.container.mux(self.audio_out.encode(frame))
        else:
            packet.stream = self.audio_out
            self.container.mux(packet)

    def frame(self, image: np.ndarray, pts: int | None) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: self.video.height, : self.video.width]), format="rgb24")
        frame.pts = pts
        self.container.mux(self.video.encode(frame))

    def close(self) -> None:
        self.container.mux(self.video.encode())
        if self.audio_out is not None and self.audio_out.codec_context.is_encoder:
            self.container.mux(self.audio_out.encode())
        self.container.close()


def _decode(source: av.container.InputContainer, video: av.video.stream.VideoStream, writer: _Writer,
            timestamps: deque[int | None], src: Path, max_seconds: float | None) -> Iterator[np.ndarray]:
    """The clip's frames as RGB arrays, in order; their timestamps go to ``timestamps`` and
    sound packets straight to the writer as they are met, so nothing piles up in memory."""
    streams = [video] + ([writer.audio_in] if writer.audio_in is not None else [])
    video.thread_type = "AUTO"
    try:
        for packet in source.demux(streams):
            if packet.stream is not video:
                writer.audio(packet)
                continue
            for frame in packet.decode():
                if max_seconds is not None and frame.time is not None and frame.time > max_seconds:
                    raise InvalidVideoError(f'"{src.name}" is longer than the limit of {max_seconds:g} s. Please cut a shorter clip.')
                timestamps.append(frame.pts)
                yield frame.to_ndarray(format="rgb24")
    except av.error.FFmpegError as error:
        raise _damaged(src) from error


def colorize_video(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    model: ModelRef = "default",
    *,
    hints: HintInput | None = None,
    working_size: int | None = None,
    saturation: float = 1.0,
    steady: bool = True,
    max_seconds: float | None = None,
    progress: Progress | None = None,
    device: str = "cpu",
) -> VideoResult:
    """Colour the clip ``src`` into the MP4 file ``dst`` (same size, timing, rotation flag and sound).

    ``model``, ``working_size`` and ``saturation`` are those of ``colorize_image``; ``hints``
    (guided models) are colours placed on the first frame, carried through its shot;
    ``steady=False`` colours every frame on its own (it flickers; for comparison);
    ``max_seconds`` refuses longer clips; ``progress(done, expected)`` is called per frame.

    Raises:
        InvalidVideoError: the clip is missing, damaged, truncated, has no pictures, or is
            over the limits; no output file is left behind.
    """
    src, dst = Path(src), Path(dst)
    info = probe_video(src, max_seconds)
    network, _ = _resolve(model, device)  # load (and check) the weights before any file is written
    partial = dst.with_name(f".{dst.stem}.{uuid.uuid4().hex[:8]}.partial.mp4")
    try:
        done, strip = _transcode(src, partial, network, info, hints, working_size, saturation, steady, max_seconds, progress)
        os.replace(partial, dst)
    finally:
        partial.unlink(missing_ok=True)
    return VideoResult(dst, done, strip)


def _transcode(src: Path, partial: Path, network: torch.nn.Module, info: VideoInfo, hints: HintInput | None,
               working_size: int | None, saturation: float, steady: bool, max_seconds: float | None,
               progress: Progress | None) -> tuple[int, np.ndarray]:
    """Decode, colour and encode every frame into ``partial``; returns (frames, still strip)."""
    strip = _Strip(info.frames, info.rotation)
    timestamps: deque[int | None] = deque()
    done = 0
    with _open(src) as source:
        video = _video_stream(source, src)
        writer = _Writer(partial, source, video, info)
        try:
            frames = _decode(source, video, writer, timestamps, src, max_seconds)
            sources: deque[np.ndarray] = deque()
            for colour in colorize_frames(_remember(frames, sources), network, hints=hints, working_size=working_size,
                                          saturation=saturation, steady=steady, rotation=info.rotation):
                strip.offer(done, sources.popleft(), colour)
                writer.frame(colour, timestamps.popleft())
                done += 1
                if progress is not None:
                    progress(done, info.frames)
        finally:
            writer.close()
    if info.frames and done < info.frames - 1:
        raise InvalidVideoError(
            f'"{src.name}" ends after {done} of its {info.frames} frames: it is incomplete, perhaps from an '
            "interrupted download or copy. Please try the original file again.")
    return done, strip.image()


def _remember(frames: Iterable[np.ndarray], kept: deque[np.ndarray]) -> Iterator[np.ndarray]:
    """Pass frames on, keeping each in ``kept`` until its colour version comes back (at most a batch)."""
    for frame in frames:
        kept.append(frame)
        yield frame
