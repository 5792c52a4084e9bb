"""Texts that concurrent threads need encoded, gathered into shared model calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)
class _Request:
    """One caller's text, and what the model call gave back for it."""

    text: str
    vector: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False


class EncodeBatcher:
    """Encodes one text per caller; texts from concurrent callers share one call of `encode`.

    One model call runs at a time. Texts that arrive while it runs join the next batch, which the
    first of them starts as soon as the call ends; when it finds other texts already waiting it
    first waits up to `window` seconds (or until `max_batch` texts are queued) for more, while a lone
    text is encoded at once. Identical texts of a batch are encoded once; an exception of the model
    call is raised in every caller of that batch. A `window` of 0 turns batching off: each text is
    encoded by its own call, concurrently with the others.
    """

    def __init__(
        self, encode: Callable[[Sequence[str]], np.ndarray], *, window: float, max_batch: int
    ) -> None:
        """Batch calls of `encode` (texts -> [n, dim]): wait at most `window` seconds for company, put at
        most `max_batch` texts in a call."""
        if window < 0 or max_batch < 1:
            raise ValueError("window must be >= 0 and max_batch >= 1")
        self.encode_many = encode
        self.window = window
        self.max_batch = max_batch
        self._changed = threading.Condition()
        self._queue: list[_Request] = []
        self._leading = False
        """Whether a caller is gathering a batch or waiting for its model call."""

    def encode(self, text: str) -> np.ndarray:
        """The text's vector [dim]."""
        if self.window == 0:
            vector: np.ndarray = self.encode_many([text])[0]
            return vector
        request = _Request(text)
        with self._changed:
            self._queue.append(request)
            self._changed.notify_all()  # a gathering leader may now have a full batch
            while self._leading and not request.done:
                self._changed.wait()
            if not request.done:
                self._lead(request)
        if request.error is not None:
            raise request.error
        assert request.vector is not None
        return request.vector

    def _lead(self, request: _Request) -> None:
        """Run batches, oldest texts first, until `request` is answered (called holding the lock)."""
        self._leading = True
        try:
            while not request.done:
                if len(self._queue) > 1:
                    self._gather()
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                self._changed.release()
                try:
                    self._run(batch)
                finally:
                    self._changed.acquire()
        finally:
            self._leading = False
            self._changed.notify_all()

    def _gather(self) -> None:
        """Wait up to the window for the queue to fill a batch (called holding the lock)."""
        deadline = time.monotonic() + self.window
        while len(self._queue) < self.max_batch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._changed.wait(remaining)

    def _run(self, batch: list[_Request]) -> None:
        """One model call for the batch's distinct texts; answer every request of the batch."""
        texts = list(dict.fromkeys(request.text for request in batch))
        try:
            vectors = self.encode_many(texts)
            if len(vectors) != len(texts):
                raise ValueError(f"the encoder returned {len(vectors)} vectors for {len(texts)} texts")
            vector_of = dict(zip(texts, vectors, strict=True))
            for request in batch:
                request.vector = vector_of[request.text]
        except BaseException as error:  # every caller of the batch must hear of it, then it goes on up
            for request in batch:
                request.error = error
        finally:
            with self._changed:
                for request in batch:
                    request.done = True
                self._changed.notify_all()
