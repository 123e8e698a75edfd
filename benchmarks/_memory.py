"""Peak memory of a benchmark: this process and its children (dask workers), sampled in a thread."""

from __future__ import annotations

import threading
import time


class PeakRSS:
    """Peak resident memory of a process (``pid``; default this one) plus all its children, sampled in a thread."""

    def __init__(self, interval: float = 0.05, pid: int | None = None) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        total = 0
        try:
            processes = [self.process, *self.process.children(recursive=True)]
        except Exception:  # the process just exited  # noqa: BLE001
            return 0
        for p in processes:
            try:
                total += p.memory_info().rss
            except Exception:  # a child that just exited  # noqa: BLE001
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = self._total()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
