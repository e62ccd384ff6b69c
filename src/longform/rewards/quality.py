"""Writing-quality rewards: a trained reward model, or an LLM judge through any backend.

Both score the answer alone (never the think block) against the user's instruction.
Both are opened on first use and drop their model when pickled.
"""

from __future__ import annotations

from pathlib import Path

from .parts import answer_of, instruction_text


class RewardModelReward:
    """A transformers sequence-classification checkpoint (`longform train rm`) scoring the
    conversation [user: instruction, assistant: answer]; the raw logit is the reward (GRPO
    normalises it within each group, so its scale does not matter)."""

    __name__ = "quality"

    def __init__(self, model: str | Path, think: bool = False, max_length: int = 8192, batch_size: int = 4,
                 device: str | None = None):
        self.model_path, self.think, self.max_length = str(model), think, max_length
        self.batch_size, self.device = batch_size, device
        self._model = self._tokenizer = None

    def __getstate__(self):
        return {**self.__dict__, "_model": None, "_tokenizer": None}

    def _load(self):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = AutoModelForSequenceClassification.from_pretrained(self.model_path).to(device).eval()
        self._model.config.pad_token_id = self._tokenizer.pad_token_id

    def texts(self, prompts, completions, instruction=None) -> list[str]:
        out = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            chat = [{"role": "user", "content": instruction[i] if instruction else instruction_text(prompt)},
                    {"role": "assistant", "content": answer_of(completion, self.think)}]
            out.append(self._tokenizer.apply_chat_template(chat, tokenize=False))
        return out

    def __call__(self, prompts, completions, instruction=None, **_) -> list[float]:
        import torch

        if self._model is None:
            self._load()
        texts, scores = self.texts(prompts, completions, instruction), []
        for start in range(0, len(texts), self.batch_size):
            batch = self._tokenizer(texts[start:start + self.batch_size], return_tensors="pt", padding=True,
                                    truncation=True, max_length=self.max_length, add_special_tokens=False)
            with torch.inference_mode():
                logits = self._model(**batch.to(self._model.device)).logits[:, 0]
            scores.extend(float(x) for x in logits.float().cpu())
        return scores


class JudgeReward:
    """The evaluation's six-dimension judge (LongBench-Write template or a custom one) through
    any backend spec; the reward is S_q / 100, None when the judge's reply never parses."""

    __name__ = "quality"

    def __init__(self, backend: str, think: bool = False, template: str | Path | None = None, attempts: int = 2):
        self.backend, self.think, self.template_path, self.attempts = backend, think, template, attempts
        self._lm = self._template = None

    def __getstate__(self):
        return {**self.__dict__, "_lm": None, "_template": None}

    def __call__(self, prompts, completions, instruction=None, **_) -> list:
        from ..evals.judge import JudgeTemplate, judge_response
        from ..quality.judge import load_judge

        if self._lm is None:
            self._lm, self._template = load_judge(self.backend), JudgeTemplate.load(self.template_path)
        rewards = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            text = instruction[i] if instruction else instruction_text(prompt)
            answer = answer_of(completion, self.think)
            if not answer:
                rewards.append(0.0)  # nothing to judge: the worst quality, not a missing score
                continue
            verdict = judge_response(self._lm, self._template, text, answer, attempts=self.attempts)
            rewards.append(None if verdict.S_q is None else verdict.S_q / 100.0)
        return rewards
