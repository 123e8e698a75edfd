"""Stage commands forked from a warm process instead of a fresh interpreter.

A stage command (``python -m flows.denoise aviris``) spends 2–3 s importing Prefect, torch, xarray and dask
before it does any work; with four stages per scene that was the larger part of the pipeline's overhead per
scene (``benchmarks/collection.py``). The pipeline flow therefore starts each such command as a process
forked from a *fork server* (:mod:`multiprocessing`'s ``forkserver``: a clean single-threaded process, started
once per pipeline run, that has imported the stage modules). Each stage still runs in a process of its own:
a crash or a leak stays in it, its memory is returned when it ends, and it runs the module as ``python -m``
would (``__main__``, ``sys.argv``, the environment the pipeline gives it, its output captured).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pkgutil
import runpy
import sys
import tempfile
import warnings
from collections.abc import Mapping
from multiprocessing.context import ForkServerContext

__all__ = ["run_module"]

#: What the stages import as they run, beside the method families' modules: the readers and writers, the metrics,
#: the figures, the training loop, and the libraries these import inside their functions (xarray looks for
#: sparse, which brings numba)
_STAGE_LIBRARIES = ("spectraflow.io", "spectraflow.metrics", "spectraflow.report.figures", "spectraflow.train",
                    "xarray", "dask.array", "distributed", "zarr", "sparse", "matplotlib.pyplot")


@functools.cache
def _context() -> ForkServerContext:
    """The fork-server context of this process; its server (started with the first stage) imports ``__main__``,
    every module of the ``flows`` package and what the stages import as they run, once there rather than in each
    stage (2–3 s of each stage's time on 2 cores: torch, scipy, dask, matplotlib)."""
    import flows
    from spectraflow.methods import provider_modules

    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    stages = sorted(f"flows.{m.name}" for m in pkgutil.iter_modules(flows.__path__))
    context.set_forkserver_preload(["__main__", *stages, *provider_modules(), *_STAGE_LIBRARIES])
    return context


def _main(module: str, args: list[str], env: Mapping[str, str], output: str) -> None:
    """In the forked process: the environment, output and arguments of ``python -m module args``, then run it."""
    fd = os.open(output, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [module, *args]
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # the server imported the module already: runpy runs it again as __main__, as `python -m` would
    warnings.filterwarnings("ignore", f"'{module}' found in sys.modules", RuntimeWarning)
    # Prefect read its settings when the server imported it; the API this stage reports to is the pipeline's.
    # No heartbeat thread: the pipeline watches the stage's process (one that dies leaves its flow run Crashed,
    # tasks.dvc), and joining that thread costs up to a second at the end of every flow run
    url = env.get("PREFECT_API_URL")
    quiet = {"flows.heartbeat_frequency": None}
    settings = temporary_settings({**quiet, PREFECT_API_URL: url}) if url else temporary_settings(
        quiet, restore_defaults=[PREFECT_API_URL])
    with settings:
        runpy.run_module(module, run_name="__main__", alter_sys=True)


def run_module(module: str, args: list[str], env: Mapping[str, str]) -> tuple[int, str]:
    """Run ``python -m module args`` (``module`` one of ``flows``) in a process forked from the warm server;
    its exit code (negative: the signal that ended it) and its output."""
    with tempfile.NamedTemporaryFile("w+", prefix="stage-", suffix=".log") as output:
        process = _context().Process(target=_main, args=(module, args, dict(env), output.name), name=module)
        process.start()
        process.join()
        output.seek(0)
        return process.exitcode if process.exitcode is not None else 1, output.read()
