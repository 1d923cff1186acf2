"""What every benchmark shares: the process set up like the app's, and where figures go
(``<out>.json`` for machines, ``<out>.md`` for the README)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from colorize import has_weights, keep_freed_memory, list_models


def prepare(models: list[str] | None, threads: int = 0) -> list[str]:
    """Tune the process as the app and CLI do; the models asked for, or every trained automatic one."""
    keep_freed_memory()
    if threads:
        torch.set_num_threads(threads)
    return models or [name for name in list_models() if has_weights(name)]


def write_report(out: Path, results: dict, table: str) -> None:
    """Save the figures and their Markdown table side by side, and print the table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(table + "\n")
    print(table)
