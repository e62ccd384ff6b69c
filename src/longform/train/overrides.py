"""Config keys given on the command line after the YAML, as TRL's own scripts take them:

    longform train sft --config examples/sft_tiny.yaml --learning_rate 1e-4 --max_steps 2 --packing false

Each `--key value` (or `--key=value`) replaces the YAML's key, ours or TRL's; a bare `--flag` is true.
Values are read as YAML scalars (`1e-4`, `true`, `[a, b]`), then checked like the file's own.
"""

from __future__ import annotations

from ..errors import UsageError

COMMAND_LINE = 0  # the "line" of a key given on the command line (TrainConfig.where says so)


def parse_overrides(words: list[str]) -> dict:
    import yaml

    values: dict = {}
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("--") or len(word) < 3:
            raise UsageError(f"unexpected argument {word!r}: config keys are given as --key value")
        key, eq, text = word[2:].partition("=")
        key = key.replace("-", "_")
        if not eq:
            has_value = i + 1 < len(words) and not words[i + 1].startswith("--")
            text = words[i + 1] if has_value else "true"
            i += 1 if has_value else 0
        try:
            values[key] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            values[key] = text  # not YAML: the text itself, checked by the key's type later
        i += 1
    return values
