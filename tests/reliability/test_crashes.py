"""Crash safety: ``kill -9`` of ingest, preprocessing and training at seeded random points while they write.

After every kill the destination holds the previous output or the complete new one (hash-checked), never a
part; a rerun then gives what an uninterrupted run gives, bit for bit (``SOURCE_DATE_EPOCH`` pins the one
timestamp the stores carry), and training resumes from its last checkpoint to the same weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spectraflow.testing.faults import CrashTally, crash_and_rerun, partials

SEEDS = (0, 1, 2)
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}

PREPROCESS = """
import sys
from spectraflow.preprocess import preprocess_store, parse_steps
steps = [{"radiometric": {}}, {"bad_bands": {"header": True}}, {"normalize": {"method": sys.argv[3]}}]
preprocess_store(sys.argv[1], sys.argv[2], parse_steps(steps))
"""

TRAIN = """
import sys
import numpy as np, torch
from spectraflow.train import TrainConfig, fit
torch.set_num_threads(1)
rng = np.random.default_rng(0)
x = torch.tensor(rng.normal(size=(256, 16)), dtype=torch.float32)
y = x @ torch.tensor(rng.normal(size=(16, 4)), dtype=torch.float32)
started = []
def train(generator):
    started.append(1)
    order = generator.permutation(len(x))
    for i in range(0, len(x), 8):
        idx = torch.as_tensor(order[i:i + 8])
        yield x[idx], y[idx]
def val():
    yield x[:64], y[:64]
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.Tanh(), torch.nn.Linear(64, 4))
fit(model, train, val, torch.nn.functional.mse_loss, TrainConfig(epochs=int(sys.argv[2]), lr=0.01, seed=3),
    meta={"family": "test", "name": "mlp", "config": {}}, checkpoint=sys.argv[1], resume=True, progress=False)
print("epochs run:", len(started))
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash")
    (root / "data").mkdir()
    subprocess.run([sys.executable, "-m", "spectraflow.cli", "synth", "data/raw", "--height", "96", "--width", "96"],
                   cwd=root, env=ENV, check=True, capture_output=True)
    return root


def _check(tally: CrashTally) -> None:
    assert tally.lost == 0 and tally.differing == 0 and tally.partials_left == 0, tally
    assert tally.landed >= 1, tally  # the kills did land while the output was being written


def test_kill_9_during_ingest(scene: Path) -> None:
    cli = [sys.executable, "-m", "spectraflow.cli", "ingest", "data/raw/scene.hdr", "--out"]
    _check(crash_and_rerun(scene, scene / "data/scene.zarr", lambda d: [*cli, str(d), "--compressor", "lz4"],
                           lambda d: [*cli, str(d)], SEEDS, ENV))


def test_kill_9_during_preprocessing(scene: Path) -> None:
    source = scene / "data/source.zarr"
    subprocess.run([sys.executable, "-m", "spectraflow.cli", "ingest", "data/raw/scene.hdr", "--out", str(source)],
                   cwd=scene, env=ENV, check=True, capture_output=True)
    code = [sys.executable, "-c", PREPROCESS, str(source)]
    _check(crash_and_rerun(scene, scene / "data/pre.zarr", lambda d: [*code, str(d), "standard"],
                           lambda d: [*code, str(d), "minmax"], SEEDS, ENV))


def test_kill_9_during_training_resumes_to_the_same_weights(tmp_path: Path) -> None:
    import torch

    from spectraflow.train import read_checkpoint, read_training_state

    epochs = "24"  # kills land after 1-8 epochs; the margin keeps a late kill (a loaded machine) before the last
    subprocess.run([sys.executable, "-c", TRAIN, str(tmp_path / "whole"), epochs], env=ENV, check=True,
                   capture_output=True)
    _, expected = read_checkpoint(tmp_path / "whole")
    run = tmp_path / "run"
    for seed in SEEDS:  # each kill lands after a seeded number of completed epochs
        target = int(np.random.default_rng(seed).integers(1, 9))
        proc = subprocess.Popen([sys.executable, "-c", TRAIN, str(run), epochs], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            state = read_training_state(run) if (run / "last.pt").exists() else None
            if state is not None and state["epoch"] >= target:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.wait()
        state = read_training_state(run)  # the checkpoint the kill left is whole and readable
        assert state is not None and 1 <= state["epoch"] < int(epochs)
    last = read_training_state(run)["epoch"]  # type: ignore[index]
    done = subprocess.run([sys.executable, "-c", TRAIN, str(run), epochs], env=ENV, check=True, capture_output=True,
                          text=True)
    assert f"epochs run: {int(epochs) - last - 1}" in done.stdout  # resumed after the last whole epoch
    _, resumed = read_checkpoint(run)
    assert not partials(tmp_path, "run")
    for key, value in expected.items():
        torch.testing.assert_close(resumed[key], value, rtol=0, atol=0)  # bit-identical to the run never killed
