"""TRL's config fields checked by value before anything trains.

TRL's config classes are dataclasses: they keep `beta: big` or `learning_rate: "fast"`
as given, and the trainer fails on it later, sometimes after a step has run. Here each
value is checked against the type its field declares, numbers against the ranges a run
needs, and then TRL's own `__post_init__` validation runs by building the config once.
"""

from __future__ import annotations

import typing

from ..typecheck import accepts, describe, fits

# fields that count something: a run needs at least 1 (max_steps: -1 means "from the epochs")
AT_LEAST_ONE = ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                "logging_steps", "save_steps", "eval_steps", "max_length", "max_prompt_length",
                "max_completion_length", "num_generations")
NOT_NEGATIVE = ("learning_rate", "weight_decay", "warmup_ratio", "warmup_steps", "num_train_epochs",
                "max_grad_norm", "save_total_limit", "seed")


def check_values(config, cls) -> None:
    """Raise config.error(key, ...) for the first value of config.trl that TRL would choke on.
    Strings that read as numbers ("1e-4", which YAML 1.1 leaves a string) become numbers."""
    hints = typing.get_type_hints(cls)
    for key, value in list(config.trl.items()):
        kind = hints.get(key)
        value = _number_from_text(value, kind)
        if not fits(value, kind):
            raise config.error(key, f"expected {describe(kind)}, got {value!r}")
        problem = _range_problem(key, value)
        if problem:
            raise config.error(key, problem)
        config.trl[key] = value


def _number_from_text(value, kind):
    if not isinstance(value, str) or not (accepts(kind, float) or accepts(kind, int)):
        return value
    if accepts(kind, str) and not accepts(kind, float) and not accepts(kind, int):
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if accepts(kind, int) and not accepts(kind, float) and number.is_integer() else number


def _range_problem(key: str, value) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if key in AT_LEAST_ONE and value < 1:
        return f"must be at least 1, got {value}"
    if key in NOT_NEGATIVE and value < 0:
        return f"must not be negative, got {value}"
    if key == "max_steps" and value != -1 and value < 1:
        return f"must be at least 1 (or -1: as many as the epochs take), got {value}"
    return None
