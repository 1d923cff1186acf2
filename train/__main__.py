"""``python -m train --model unet --data DIR --val DIR --out runs/NAME [--resume]``."""

import shlex
import sys
from pathlib import Path

from .config import parse_config
from .trainer import train


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    cfg = parse_config(argv)
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    with open(Path(cfg.out) / "command.txt", "a") as stream:
        stream.write(shlex.join(["python", "-m", "train", *argv]) + "\n")
    train(cfg)


if __name__ == "__main__":
    main()
