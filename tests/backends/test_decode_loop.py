"""DecodeLoop's shutdown: close() lets calls in flight finish, then ends the loop thread."""

from __future__ import annotations

import threading
import time

from longform.backends import decode_loop
from longform.backends.decode_loop import DecodeLoop


class _Call:
    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.error = None
        self.done = threading.Event()


class _CountingLoop(DecodeLoop):
    """Each round takes one step off every active call; a call leaves at zero."""

    def __init__(self) -> None:
        super().__init__("test-loop")
        self.active: list[_Call] = []
        self.start()

    def _room(self) -> int:
        return 4 - len(self.active)

    def _busy(self) -> bool:
        return bool(self.active)

    def _round(self, joining: list) -> None:
        self.active.extend(joining)
        time.sleep(0.01)  # stands in for a decode step in native code
        for call in list(self.active):
            call.steps -= 1
            if call.steps <= 0:
                self._leave(call)

    def _leave(self, call) -> None:
        if call in self.active:
            self.active.remove(call)
        call.done.set()


def test_close_ends_the_thread_after_the_calls_in_flight() -> None:
    loop = _CountingLoop()
    calls = [_Call(steps) for steps in (3, 20)]
    for call in calls:
        loop.submit(call)
    loop.close()
    assert all(call.done.is_set() for call in calls), "close() returned before its calls finished"
    assert all(call.steps == 0 for call in calls)
    assert not loop._thread.is_alive()


def test_an_idle_loop_closes_at_once_and_every_started_loop_is_tracked() -> None:
    loop = _CountingLoop()
    assert loop in decode_loop._started
    loop.run(_Call(2))
    began = time.monotonic()
    loop.close()
    assert not loop._thread.is_alive()
    assert time.monotonic() - began < 1.0
