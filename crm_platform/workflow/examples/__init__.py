"""Seeded workflow definitions (YAML), read with ``example``."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def example(name: str) -> str:
    """The YAML text of ``examples/<name>.yaml``."""
    return (HERE / f"{name}.yaml").read_text(encoding="utf-8")
