"""``python -m train --model unet --data DIR --val DIR --out runs/NAME [--resume]``."""

import shlex
import sys
from pathlib import Path

from colorize.errors import ColorizeError

from .config import parse_config
from .trainer import train


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    cfg = parse_config(argv)
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    with open(Path(cfg.out) / "command.txt", "a") as stream:
        stream.write(shlex.join(["python", "-m", "train", *argv]) + "\n")
    try:
        train(cfg)
    except ColorizeError as error:  # the photos are missing or unreadable: say what is needed, no traceback
        sys.exit(f"{error}\nTraining needs folders of colour photos: --data for training and --val for validation "
                 "(default ../shared/data/train and ../shared/data/val; see the README's Data section).")


if __name__ == "__main__":
    main()
