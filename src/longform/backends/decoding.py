"""Token bytes → streamed text, with stop strings, in constant time per token.

llama-cpp-python's own streaming re-detokenizes the whole completion after every
token, and when a small model emits bytes that never form valid UTF-8 (common in
garbled Chinese) it retries every prefix of the undecoded tail on each new token.
A 317-token plan once took 650 s that way. Here each token's bytes go through
an incremental decoder once: invalid bytes are dropped (as llama-cpp-python's
`errors="ignore"` does), an unfinished character waits for its next byte, and
text that could be the start of a stop string is held back until it is not.
"""

from __future__ import annotations

import codecs


class TextStream:
    """Feed token bytes; get back the text that is safe to show.

    `feed` returns the new visible text (maybe ""); `stopped` turns true once a
    stop string appears, and the text before it is the whole output.
    """

    def __init__(self, stop: list[str] | None = None):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        self._stop = [s for s in (stop or []) if s]
        self._held = ""  # decoded text not yet shown: it may begin a stop string
        self.text = ""  # everything shown so far
        self.stopped = False

    def feed(self, piece: bytes) -> str:
        return self._release(self._decoder.decode(piece))

    def finish(self) -> str:
        """The rest, at the end of generation: held text is no longer a stop string's start."""
        if self.stopped:
            return ""
        shown = self._release(self._decoder.decode(b"", final=True))
        rest, self._held = self._held, ""
        return shown + self._show(rest)

    def _release(self, new: str) -> str:
        if self.stopped or not new:
            return ""
        held = self._held + new
        cut = min((i for i in (held.find(s) for s in self._stop) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped, self._held = True, ""
            return self._show(held[:cut])
        keep = self._longest_stop_start(held)
        self._held = held[len(held) - keep:] if keep else ""
        return self._show(held[: len(held) - keep])

    def _longest_stop_start(self, text: str) -> int:
        """Length of the longest end of `text` that is a proper start of a stop string."""
        best = 0
        for stop in self._stop:
            for n in range(min(len(stop) - 1, len(text)), best, -1):
                if text.endswith(stop[:n]):
                    best = n
                    break
        return best

    def _show(self, text: str) -> str:
        self.text += text
        return text
