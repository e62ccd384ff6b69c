"""Chat templates rendered on our side: from the embedded GGUF, a model folder
or a Jinja file; a final assistant message is continued, not closed."""

from __future__ import annotations

import json

import pytest

from longform.backends import GenerationConfig, load_backend
from longform.backends.chat_template import load_chat_template
from longform.errors import UsageError

SIMPLE = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</s>{% endfor %}"
          "{% if add_generation_prompt %}<assistant>{% endif %}")
CHAT = [{"role": "user", "content": "Hi"}]


def test_embedded_template_continues_the_reply():
    template = load_chat_template("embedded")
    closed, stop = template.render(CHAT)
    assert closed.endswith("<|im_start|>assistant\n") and "<|im_end|>" in stop
    opened, _ = template.render([*CHAT, {"role": "assistant", "content": "Hello th"}])
    assert opened == closed + "Hello th"  # no end-of-turn after the partial reply


def test_jinja_file(tmp_path):
    path = tmp_path / "t.jinja"
    path.write_text(SIMPLE)
    prompt, _ = load_chat_template(str(path)).render([*CHAT, {"role": "assistant", "content": "Yes"}])
    assert prompt == "<user>Hi</s><assistant>Yes"


@pytest.mark.parametrize("layout", ["jinja", "config"])
def test_model_folder(tmp_path, layout):
    if layout == "jinja":
        (tmp_path / "chat_template.jinja").write_text(SIMPLE)
    else:
        (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": SIMPLE, "eos_token": "</s>"}))
    template = load_chat_template(str(tmp_path))
    assert template.render(CHAT)[0] == "<user>Hi</s><assistant>"


def test_missing_sources_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load_chat_template(str(tmp_path / "nope.jinja"))
    with pytest.raises(UsageError, match="no chat template"):
        load_chat_template(str(tmp_path))  # an empty folder


def test_openai_backend_with_a_template_can_prefill(tmp_path):
    (tmp_path / "t.jinja").write_text(SIMPLE)
    lm = load_backend(f"openai:http://127.0.0.1:9/v1#m?template={tmp_path / 't.jinja'}")
    assert lm.supports_prefill
    body = lm.provider._payload([*CHAT, {"role": "assistant", "content": "Ok"}], _config(min_tokens=5))
    assert body["prompt"] == "<user>Hi</s><assistant>Ok" and "messages" not in body
    assert body["min_tokens"] == 5
    plain = load_backend("openai:http://127.0.0.1:9/v1#m")
    assert "min_tokens" not in plain.provider._payload(CHAT, _config(min_tokens=5))  # OpenAI would refuse it


def _config(**kw) -> GenerationConfig:
    return GenerationConfig(max_tokens=8, **kw)
