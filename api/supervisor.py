"""uvicorn's supervisor for `serve --workers N`, told at once when a worker dies while it is being pinged.

The supervisor pings each worker every half second over a pipe and waits up to its health-check timeout
(`WORKER_HEALTHCHECK_SECONDS`, 60 s) for the answer. uvicorn keeps the worker's end of that pipe open in
the supervisor too, so a worker killed between a ping and its answer is waited for the whole timeout
before it is replaced: half the capacity gone for a minute, in 3 of 5 SIGKILL runs measured here
(bench/README.md). With the supervisor's copy closed once the worker holds its own, the worker's death
ends the wait at once (the pipe reads end-of-file), and it is replaced as when it dies between pings.
"""

from __future__ import annotations

from uvicorn.supervisors import multiprocess


class PromptWorker(multiprocess.Process):
    """uvicorn's handle on a worker, holding only its own end of the health-check pipe once started."""

    def start(self) -> None:
        """Start the worker (which inherits its end of the pipe), then let go of that end here."""
        super().start()
        self.child_conn.close()


def install() -> None:
    """Have uvicorn's supervisor start its workers as `PromptWorker`s (call before `uvicorn.run`)."""
    multiprocess.Process = PromptWorker  # type: ignore[misc]  # the class uvicorn starts workers with
