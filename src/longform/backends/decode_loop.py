"""The part every continuous-batching decoder shares: a queue of calls, one thread that runs the
loop, and errors handed back to the caller's thread.

A subclass says how many waiting calls it can take now (`_room`), whether calls are still in
flight (`_busy`), and what one round does with the calls that joined (`_round`): join them, then
decode a step. A call carries `error` and a `done` event; `_leave(call)` must set `done`.
"""

from __future__ import annotations

import threading


class DecodeLoop:
    def __init__(self, name: str):
        self.waiting: list = []
        self.cond = threading.Condition()
        self._name = name

    def start(self) -> None:
        """Start the loop thread; call it once the subclass's own state is set up."""
        threading.Thread(target=self._loop, name=self._name, daemon=True).start()

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
