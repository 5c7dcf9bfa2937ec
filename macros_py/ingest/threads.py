"""Threads that let an import read, map and write at the same time.

The CSV parser, Arrow, numpy and SQLite release the GIL for most of their work, so on
a two-core PC reading and mapping the next file overlaps writing the current one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from queue import Full, Queue
from typing import TypeVar

__all__ = ["StoreWriter", "prefetched"]

Result = TypeVar("Result")


def prefetched(items: Iterator, depth: int = 1) -> Iterator:
    """Run a generator one step ahead in a thread (at most ``depth`` items held).

    Exceptions reach the consumer; closing the consumer stops the producer.
    """
    queue: Queue = Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put((item, None), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put((done, None))
        except BaseException as error:  # handed to the consumer, re-raised there
            queue.put((done, error))

    worker = threading.Thread(target=produce, name="ingest-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        worker.join()


class StoreWriter:
    """Runs every store write of an import on one thread, in submission order.

    Writes stay strictly sequential (one transaction at a time, as SQLite wants) while
    the caller goes on reading and mapping. At most ``max_pending`` jobs are queued or
    running, which bounds the mapped data held in memory. ``inline=True`` runs each
    job at once in the caller's thread (single-file imports, tests).

    Jobs carry a key (the source ID): :meth:`wait_for` lets the caller wait until a
    source's earlier files are stored before checking the next file against them.
    """

    def __init__(self, inline: bool = False, max_pending: int = 32):
        self._executor = None if inline else ThreadPoolExecutor(1, thread_name_prefix="ingest-writer")
        self._max_pending = max_pending
        self._pending: list[tuple[str, Future]] = []

    def submit(self, key: str, job: Callable[..., Result], *arguments) -> Future:
        """Queue ``job(*arguments)``; returns its future (already done when inline)."""
        if self._executor is None:
            future: Future = Future()
            future.set_result(job(*arguments))
            return future
        self._pending = [(k, f) for k, f in self._pending if not f.done()]
        while len(self._pending) >= self._max_pending:
            wait([self._pending.pop(0)[1]])
        future = self._executor.submit(job, *arguments)
        self._pending.append((key, future))
        return future

    def wait_for(self, key: str) -> None:
        """Block until every job submitted under ``key`` has finished."""
        wait([future for k, future in self._pending if k == key])

    def close(self) -> None:
        """Wait for every job; results and errors stay in their futures."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
