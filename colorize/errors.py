"""The project's exceptions: one family, with messages written for the person at the keyboard."""


class ColorizeError(Exception):
    """Anything colorize refuses to do; ``str(error)`` is a plain-language explanation."""


class InvalidImageError(ColorizeError):
    """The input is not a photo we can read: empty, corrupt, not an image, or too large."""


class WeightsNotFoundError(ColorizeError):
    """A model has no weights in any of the places we looked."""


class InvalidVideoError(ColorizeError):
    """The input is not a video we can colour: missing, damaged, no pictures, or too long."""
