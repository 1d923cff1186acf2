"""Evaluation and training without their photos end in a sentence saying what they need, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command, needs", [
    (["-m", "colorize.evaluate", "{missing}", "--model", "levin"], "Evaluation needs a folder of colour photos"),
    (["-m", "train", "--model", "shallow", "--data", "{missing}", "--val", "{missing}", "--steps", "1", "--out", "{out}"],
     "Training needs folders of colour photos: --data for training and --val"),
])
def test_missing_photos_are_explained(tmp_path, command, needs):
    missing = tmp_path / "shared" / "data" / "val"
    argv = [part.format(missing=missing, out=tmp_path / "run") for part in command]
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert needs in done.stderr and f'There is no file or folder at "{missing}"' in done.stderr
    assert "Traceback" not in done.stderr
