"""The part every continuous-batching decoder shares: a queue of calls, one thread that runs the
loop, and errors handed back to the caller's thread.

A subclass says how many waiting calls it can take now (`_room`), whether calls are still in
flight (`_busy`), and what one round does with the calls that joined (`_round`): join them, then
decode a step. A call carries `error` and a `done` event; `_leave(call)` must set `done`.

At interpreter exit every loop is closed and joined (atexit): a caller may return as soon as its
call is done while the loop thread still finishes the round in native code (torch, llama.cpp),
and a process that then exits under it aborted ("terminate called without an active exception",
2 of 6 runs of P8's hf measurement).
"""

from __future__ import annotations

import atexit
import threading
import weakref

EXIT_WAIT = 10.0  # seconds a closing loop may take to finish the calls in flight

_started: weakref.WeakSet = weakref.WeakSet()


class DecodeLoop:
    def __init__(self, name: str):
        self.waiting: list = []
        self.cond = threading.Condition()
        self._name = name
        self._closing = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop thread; call it once the subclass's own state is set up."""
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()
        _started.add(self)

    def close(self, timeout: float = EXIT_WAIT) -> None:
        """Let the loop finish what is in flight and end its thread."""
        with self.cond:
            self._closing = True
            self.cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run(self, call):
        """Queue `call`, wait until it is over; the decoder's error, if any, is raised here."""
        self.submit(call)
        return self.wait(call)

    def submit(self, call) -> None:
        with self.cond:
            self.waiting.append(call)
            self.cond.notify()

    @staticmethod
    def wait(call):
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call

    def _loop(self) -> None:
        while True:
            with self.cond:
                while not self.waiting and not self._busy():
                    if self._closing:
                        return
                    self.cond.wait()
                joining = []
                while self.waiting and len(joining) < self._room():
                    joining.append(self.waiting.pop(0))
            self._round(joining)

    def _guarded(self, call, work) -> None:
        try:
            work(call)
        except BaseException as exc:  # noqa: BLE001 - the caller's thread re-raises it
            call.error = exc
            self._leave(call)

    def _room(self) -> int:
        raise NotImplementedError

    def _busy(self) -> bool:
        raise NotImplementedError

    def _round(self, joining: list) -> None:
        raise NotImplementedError

    def _leave(self, call) -> None:
        raise NotImplementedError


@atexit.register
def _close_all() -> None:
    for loop in list(_started):
        loop.close()
