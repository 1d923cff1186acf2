"""colorize: bring colour back to black-and-white photos.

The public API in one screen::

    from colorize import colorize_image, list_models
    colorize_image("grandma.jpg", model="default").save("grandma-colour.png")
    colorize_video("film.mp4", "film-colour.mp4", model="default")  # steady colour, sound kept

Models predict the a/b colour channels of CIELAB from L at a small working size; the photo
keeps its own full-resolution L (see ``colorize.pipeline``).
"""

from .errors import ColorizeError, InvalidImageError, InvalidVideoError, WeightsNotFoundError
from .hub import has_weights, load_model, save_pretrained
from .io import load_image
from .runtime import keep_freed_memory
from .pipeline import Colorization, colorize_batch, colorize_image, colorize_images, colorize_with_details
from .video import VideoResult, colorize_video
from .zoo import DEFAULT_MODEL, ModelSpec, get_spec, list_models, register_model

__all__ = [
    "DEFAULT_MODEL",
    "Colorization",
    "ColorizeError",
    "InvalidImageError",
    "InvalidVideoError",
    "ModelSpec",
    "VideoResult",
    "WeightsNotFoundError",
    "colorize_batch",
    "colorize_image",
    "colorize_images",
    "colorize_video",
    "colorize_with_details",
    "get_spec",
    "has_weights",
    "keep_freed_memory",
    "list_models",
    "load_image",
    "load_model",
    "register_model",
    "save_pretrained",
]
