"""Independent tasks (MAP starts, NUTS chains) on several cores, in forked processes.

Why processes, and why fork (measured on the K=3, T=800 benchmark, 2 cores):

- nutpie's Python-function interface calls our log density under the GIL, so
  its worker threads only queue: 2 threads ran 2 chains 1.25x *slower* than 1.
- A numba ``nogil`` entry point around PyTensor's compiled graph does run in
  parallel, but numba re-links and re-optimises the whole graph into it: 23 s
  per model structure, and numba's on-disk cache cannot be keyed safely on a
  closure over PyTensor's generated functions.
- ``nutpie.compile_pymc_model`` builds a nogil cfunc too, but re-JITs for 30 s
  on every call, cached nowhere.
- A forked child inherits the parent's already compiled numba code: nothing is
  compiled again, a fork costs milliseconds, and each child runs exactly the
  computation the parent would have run (bit-identical chains to a serial
  run). The compiled code itself stays cached on disk by PyTensor and numba,
  keyed by the graph, so a second process loads rather than compiles it.

Fork needs Linux (macOS forks are unsafe with its system frameworks, Windows
has none) and a process allowed children (a ``dask.distributed`` worker is
daemonic): elsewhere, and for a single worker, the tasks run one after another
in this process with the same results. Children report progress through a
shared counter per task, which the parent polls.

Tasks run with one BLAS thread: they work on tiny matrices, and OpenBLAS's
spinning worker threads made scipy's L-BFGS-B 10-25x slower (2 ms per
iteration instead of 0.1 ms) whenever the other core was busy.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")

# a task gets a callback reporting how many of its units are done
Task = Callable[[Callable[[int], None]], T]


def _in_child() -> None:
    """First thing in a forked child: write straight to the inherited stdout/stderr.

    A live Rich display in the parent (the CLI's progress bars) redirects them
    through a console whose lock its refresh thread may have held at the fork;
    that thread does not exist in the child, so printing through it could hang.
    """
    import logging

    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    for name in (None, "regime"):
        logger = logging.getLogger(name)
        for i, handler in enumerate(logger.handlers):
            if hasattr(handler, "console"):  # rich.logging.RichHandler
                plain = logging.StreamHandler(sys.__stderr__)
                plain.setLevel(handler.level)
                logger.handlers[i] = plain


def can_fork() -> bool:
    """Linux, and not a daemonic process: a ``dask.distributed`` worker (the backtest's
    tasks) is one, and may not start children; its tasks then run one after another."""
    if mp.current_process().daemon:
        return False
    return sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_tasks(
    tasks: Sequence[Task[T]],
    workers: int,
    on_progress: Callable[[int], None] | None = None,
    poll_s: float = 0.2,
) -> list[T]:
    """Results of ``tasks`` in order, at most ``workers`` at a time in forked children.

    Each task is called with a callback ``done(n)`` (units finished so far);
    ``on_progress`` receives the sum over tasks, in the calling process.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run_tasks(tasks, workers, on_progress, poll_s)


def _run_tasks(
    tasks: Sequence[Task[T]],
    workers: int,
    on_progress: Callable[[int], None] | None,
    poll_s: float,
) -> list[T]:
    n = len(tasks)
    if workers <= 1 or n <= 1 or not can_fork():
        counts = [0] * n

        def serial_done(i: int) -> Callable[[int], None]:
            def done(k: int) -> None:
                counts[i] = k
                if on_progress is not None:
                    on_progress(sum(counts))

            return done

        return [task(serial_done(i)) for i, task in enumerate(tasks)]
    ctx = mp.get_context("fork")
    shared = ctx.RawArray("q", n)
    results: list[Any] = [None] * n
    running: dict[Connection, tuple[int, Any]] = {}
    pending = list(range(n))

    def start(i: int) -> None:
        reader, writer = ctx.Pipe(duplex=False)

        def child() -> None:
            _in_child()

            def done(k: int) -> None:
                shared[i] = k

            try:
                payload = pickle.dumps((True, tasks[i](done)), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # reported to the parent, which raises
                payload = pickle.dumps((False, traceback.format_exc()))
            writer.send_bytes(payload)
            writer.close()

        proc = ctx.Process(target=child, daemon=False)  # a task may start its own workers
        with warnings.catch_warnings():
            # Python >= 3.12 warns about forking a process with threads; ours are idle
            # (numba and nutpie start none outside a call) and the child execs nothing
            warnings.simplefilter("ignore", DeprecationWarning)
            proc.start()
        writer.close()
        running[reader] = (i, proc)

    try:
        while pending or running:
            while pending and len(running) < workers:
                start(pending.pop(0))
            for ready in wait(list(running), timeout=poll_s):
                reader = cast(Connection, ready)
                i, proc = running.pop(reader)
                try:
                    ok, value = pickle.loads(reader.recv_bytes())
                except EOFError:
                    ok, value = False, f"worker process exited with code {proc.exitcode}"
                reader.close()
                proc.join()
                if not ok:
                    raise RuntimeError(f"parallel task {i} failed:\n{value}")
                results[i] = value
            if on_progress is not None:
                on_progress(int(sum(shared)))
    finally:
        for reader, (_, proc) in running.items():
            proc.terminate()
            proc.join()
            reader.close()
    return results


class Background(Generic[T]):
    """One task started now in a forked child, while this process goes on working.

    :meth:`result` waits for it; :meth:`done` reads its progress at any time.
    Without fork, the task runs in this process when :meth:`result` is called.
    """

    def __init__(self, task: Task[T]) -> None:
        self._task = task
        self._proc: Any = None
        self._reader: Connection | None = None
        if not can_fork():
            return
        ctx = mp.get_context("fork")
        self._count = ctx.RawValue("q", 0)
        reader, writer = ctx.Pipe(duplex=False)

        def child() -> None:
            _in_child()

            def done(k: int) -> None:
                self._count.value = k

            from threadpoolctl import threadpool_limits

            try:
                with threadpool_limits(limits=1):
                    value = task(done)
                payload = pickle.dumps((True, value), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # reported to the parent, which raises
                payload = pickle.dumps((False, traceback.format_exc()))
            writer.send_bytes(payload)
            writer.close()

        proc = ctx.Process(target=child, daemon=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # see run_tasks
            proc.start()
        writer.close()
        self._proc, self._reader = proc, reader

    def done(self) -> int:
        """Units of the task finished so far (0 until it runs, without fork)."""
        return int(self._count.value) if self._proc is not None else 0

    def result(self, on_progress: Callable[[int], None] | None = None, poll_s: float = 0.2) -> T:
        if self._proc is None or self._reader is None:
            return self._task(on_progress or (lambda k: None))
        try:
            while not wait([self._reader], timeout=poll_s):
                if on_progress is not None:
                    on_progress(self.done())
            try:
                ok, value = pickle.loads(self._reader.recv_bytes())
            except EOFError:
                ok, value = False, f"worker process exited with code {self._proc.exitcode}"
            self._proc.join()
        finally:
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join()
            self._reader.close()
        if not ok:
            raise RuntimeError(f"background task failed:\n{value}")
        if on_progress is not None:
            on_progress(self.done())
        return cast(T, value)

    def cancel(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.terminate()
            self._proc.join()
