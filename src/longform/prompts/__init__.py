"""Prompt templates, one Jinja file each, loaded by name.

Keeping prompts in files lets users read and override them (`LONGFORM_PROMPTS`
names a folder searched before the built-in one) without touching code.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import jinja2

_BUILTIN = Path(__file__).parent


@lru_cache(maxsize=None)
def _environment(override: str | None) -> jinja2.Environment:
    folders = [override] if override else []
    loader = jinja2.FileSystemLoader([*folders, str(_BUILTIN)])
    return jinja2.Environment(
        loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
    )


def render(name: str, **variables) -> str:
    """Render `name`.j2 with the given variables; a missing variable is an error."""
    env = _environment(os.environ.get("LONGFORM_PROMPTS"))
    return env.get_template(f"{name}.j2").render(**variables).strip()
