"""waitress tuned for request latency: a channel without the busy loop of the main thread
while a response is written, the status line and headers sent with the first piece of the
body, and the request threads woken last-idle first.

waitress runs its socket loop in the main thread and the app in worker threads. A worker
writes the response into the channel's buffer and sends it itself (``write_soon``);
while it holds the buffer's lock to do so, the channel has data pending, so the main
loop's ``select`` returns at once (the socket is writable), the loop fails to take the
lock and polls again: measured on a one-row TAP query, about 20 turns of the loop per
request, each taking the interpreter lock from the worker that is sending; and the
headers and the body went out in two ``send`` calls, each another hand-over. This channel
is not writable while a worker is sending (the worker wakes the loop whenever it leaves
data unsent, and when its request is done: ``HTTPChannel.write_soon`` and ``service``
pull the trigger), and a worker's header block waits for the first body piece, so a
small response leaves in one ``send``. The bytes on the wire are the same.

waitress wakes its idle request threads in the order they went idle (``Condition.notify``
wakes the longest waiting), so consecutive requests go round all the threads (8 by
default), each with its caches cold: its store connection (SQLite's pages and prepared
statements are per connection) and the processor's. :class:`LifoDispatcher` wakes the
thread that went idle last: a 178-row TAP cone took 2.8-3.2 ms of the server's CPU a
request with waitress's order, 2.55 ms with one thread.
"""

from __future__ import annotations

import contextlib
import threading

from waitress.channel import HTTPChannel
from waitress.task import ThreadedTaskDispatcher, WSGITask

__all__ = ["LeanChannel", "LifoDispatcher", "install"]

#: a body piece up to this size is sent in one call with the headers (larger ones are
#: sent after them: the copy would cost more than the extra call)
_JOIN_LIMIT = 256 * 1024


class _Task(WSGITask):
    def write(self, data):
        channel = self.channel
        if not self.wrote_header:
            channel.hold_next = True  # the header block: kept for the body's first piece
        try:
            super().write(data)
        finally:
            channel.hold_next = False
            channel.release_held()  # no body piece came with it (empty, HEAD, 304)


class LeanChannel(HTTPChannel):
    task_class = _Task
    hold_next = False
    held = b""
    sending = False

    def writable(self):
        # a worker sending (it holds the buffer's lock): nothing the loop could do now
        return not self.sending and super().writable()

    def release_held(self) -> None:
        if self.held:
            held, self.held = self.held, b""
            self._write(held)

    def write_soon(self, data):
        if self.hold_next and isinstance(data, bytes):
            self.hold_next = False
            self.held = data
            return len(data)
        if self.held:
            if isinstance(data, bytes) and len(data) <= _JOIN_LIMIT:
                data, self.held = self.held + data, b""
            else:
                self.release_held()
        return self._write(data)

    def _write(self, data):
        # above the high watermark the worker waits for the loop to send (it must stay
        # writable then); below it only this worker adds to the buffer and only the loop
        # takes from it, so waitress's own check (the same, later) finds it below too
        self.sending = self.total_outbufs_len <= self.adj.outbuf_high_watermark
        try:
            return super().write_soon(data)
        finally:
            self.sending = False
            if self.total_outbufs_len and self.connected:
                self.server.pull_trigger()  # the loop sends the rest when it can


def install(server) -> None:
    """Make the servers of ``server`` (``waitress.create_server``'s, one socket or
    several) use :class:`LeanChannel` for the connections they accept."""
    from waitress.server import BaseWSGIServer

    found = [server] if isinstance(server, BaseWSGIServer) else [
        s for s in getattr(server, "map", {}).values() if isinstance(s, BaseWSGIServer)]
    for one in found:
        one.channel_class = LeanChannel


class _LifoCondition(threading.Condition):
    """A condition whose ``notify`` wakes the threads that waited last first."""

    def notify(self, n: int = 1) -> None:
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters
        while waiters and n > 0:
            waiter = waiters[-1]
            try:
                waiter.release()
            except RuntimeError:  # released by an interrupted notify before (gh-92530)
                pass
            else:
                n -= 1
            with contextlib.suppress(ValueError):
                waiters.remove(waiter)


class LifoDispatcher(ThreadedTaskDispatcher):
    """waitress's pool of ``threads`` request threads, the idle ones woken last-idle first
    (see above); given to ``waitress.create_server`` as its dispatcher (which then leaves
    the thread count to it)."""

    def __init__(self, threads: int) -> None:
        super().__init__()
        self.queue_cv = _LifoCondition(self.lock)
        self.set_thread_count(threads)
