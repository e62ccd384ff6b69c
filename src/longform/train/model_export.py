"""`longform model export`: a GGUF model as an ordinary transformers folder.

Training needs real weights; the embedded model ships only as a quantized GGUF.
transformers reads GGUF files and de-quantizes them to float32; we drop the
quantization marker it leaves on the model and save weights, config, tokenizer
and generation config. The folder is written beside the target and renamed, so
an interrupted export leaves nothing half-made.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..io import staged_folder


def export_gguf(out: str | Path, gguf: str | Path | None = None) -> Path:
    """Convert `gguf` (default: the embedded SmolLM2-135M-Instruct) into `out`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if gguf is None:
        from ..backends.embedded import embedded_model_path

        gguf = embedded_model_path()
    gguf = Path(gguf)
    if not gguf.is_file():
        raise UsageError(f"GGUF file {gguf} does not exist")
    out = Path(out)
    with staged_folder(out) as staging:
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        except (ValueError, OSError, KeyError) as exc:
            raise UsageError(f"{gguf}: transformers cannot read this GGUF file ({exc})") from None
        if getattr(model, "hf_quantizer", None) is not None:  # de-quantized already; the marker blocks saving
            model.hf_quantizer.remove_quantization_config(model)
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
    return out
