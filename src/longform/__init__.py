"""longform: make language models write ultra-long text, and train them to.

    from longform import AgentWrite, load_backend
    result = AgentWrite(load_backend("embedded")).run("Write a 3,000-word story", "runs/story")
    print(result.document)

Importing this package is cheap: model libraries load only when a backend is built.
"""

import logging

from .backends import LM, Completion, GenerationConfig, load_backend
from .errors import BackendError, LongformError, UsageError
from .pipeline.events import Callbacks
from .pipeline.runner import AgentWrite, RunResult, WriteSettings
from .text import count_words

__version__ = "0.1.0"

# a library logs, an application decides where to: without a handler of the caller's, nothing is printed
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AgentWrite", "BackendError", "Callbacks", "Completion", "GenerationConfig", "LM", "LongformError",
    "RunResult", "UsageError", "WriteSettings", "count_words", "load_backend",
]
