"""Where every benchmark writes: ``<out>.json`` for machines, ``<out>.md`` for the README."""

from __future__ import annotations

import json
from pathlib import Path


def write_report(out: Path, results: dict, table: str) -> None:
    """Save the figures and their Markdown table side by side, and print the table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(table + "\n")
    print(table)
