"""Learned finite volumes: the banded five-point solve against a sparse matrix assembled node by node, its
adjoint gradients against finite differences, the untrained model against the classical harmonic-mean scheme in
both boundary layouts, and training on our Darcy solver's data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import spsolve

from spectraflow import methods
from spectraflow.errors import ConfigError
from spectraflow.methods.operators import evaluate_operator, load_operator, train_operator
from spectraflow.nn import five_point_operator, five_point_solve
from spectraflow.synth._darcy import darcy_dataset
from spectraflow.train import TrainConfig


def _reference(east: np.ndarray, south: np.ndarray, f: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Interior solution of the finite-volume system, the sparse matrix assembled one node and face at a time."""
    rows, cols = f.shape
    index = {(i, j): i * cols + j for i in range(rows) for j in range(cols)}
    matrix = sp.lil_matrix((rows * cols, rows * cols))
    for (i, j), p in index.items():
        node = (i + 1, j + 1)  # in the full grid, whose border is the boundary
        faces = [(east[node[0], node[1]] / dx**2, (i, j + 1)), (east[node[0], node[1] - 1] / dx**2, (i, j - 1)),
                 (south[node[0], node[1]] / dy**2, (i + 1, j)), (south[node[0] - 1, node[1]] / dy**2, (i - 1, j))]
        for conductance, neighbour in faces:
            matrix[p, p] += conductance
            if neighbour in index:
                matrix[p, index[neighbour]] -= conductance
    return np.asarray(spsolve(matrix.tocsr(), f.ravel())).reshape(rows, cols)


def test_banded_solve_matches_a_sparse_assembly_on_a_rectangular_grid() -> None:
    rng = np.random.default_rng(7)
    height, width, dy, dx = 9, 12, 1 / 8, 1 / 11
    east = rng.uniform(0.1, 5.0, (2, height, width - 1))
    south = rng.uniform(0.1, 5.0, (2, height - 1, width))
    f = rng.normal(size=(2, height - 2, width - 2))
    diagonals = five_point_operator(torch.from_numpy(east), torch.from_numpy(south), (dy, dx))
    u = five_point_solve(*diagonals, torch.from_numpy(f).flatten(1)).view(2, height - 2, width - 2).numpy()
    for b in range(2):
        np.testing.assert_allclose(u[b], _reference(east[b], south[b], f[b], dy, dx), rtol=1e-10, atol=1e-12)


def test_adjoint_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(8)
    east = torch.tensor(rng.uniform(0.5, 2.0, (2, 5, 5)), requires_grad=True)
    south = torch.tensor(rng.uniform(0.5, 2.0, (2, 4, 6)), requires_grad=True)
    rhs = torch.tensor(rng.normal(size=(2, 12)), requires_grad=True)

    def solve(east: torch.Tensor, south: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
        return five_point_solve(*five_point_operator(east, south, (0.25, 0.2)), rhs)

    assert torch.autograd.gradcheck(solve, (east, south, rhs))


def _harmonic_scheme(a: np.ndarray, layout: str) -> np.ndarray:
    """−∇·(a∇u) = 1 with harmonic-mean faces, u = 0 on the boundary of the layout, on the grid of ``a``."""
    full = np.pad(a, ((0, 1), (0, 1)), mode="edge") if layout == "half_open" else a
    east = 2 * full[:, :-1] * full[:, 1:] / (full[:, :-1] + full[:, 1:])
    south = 2 * full[:-1] * full[1:] / (full[:-1] + full[1:])
    rows, cols = full.shape
    u = np.zeros(full.shape)
    u[1:-1, 1:-1] = _reference(east, south, np.ones((rows - 2, cols - 2)), 1 / (rows - 1), 1 / (cols - 1))
    return u[:a.shape[0], :a.shape[1]]


@pytest.mark.parametrize("layout", ["inclusive", "half_open"])
def test_untrained_model_is_the_harmonic_mean_scheme(layout: str) -> None:
    """With identity normalisation and the log-conductivity map set to the identity, input ``log a`` gives the
    classical scheme's solution for conductivity ``a``: the corrections start at zero."""
    model = methods.get("operator", "finite_volume")(boundary=layout)
    with torch.no_grad():
        model.log_conductivity.weight.fill_(1.0)
        model.source.fill_(1.0)
    a = np.exp(np.random.default_rng(9).normal(size=(3, 11, 11)))
    with torch.no_grad():
        u = model(torch.from_numpy(np.log(a)).float()[:, None])[:, 0].double().numpy()
    for b in range(3):
        np.testing.assert_allclose(u[b], _harmonic_scheme(a[b], layout), rtol=2e-5, atol=1e-8)
    assert np.all(u[:, 0] == 0) and np.all(u[:, :, 0] == 0)
    assert (np.all(u[:, -1] == 0) and np.all(u[:, :, -1] == 0)) == (layout == "inclusive")


def test_finite_volume_learns_darcy_and_checkpoints(tmp_path: Path) -> None:
    """Our solver's data (arithmetic-mean faces, contrast 4): a few epochs take the error far below the
    untrained scheme's, and the checkpoint, string option included, reproduces the predictions."""
    a, u = (v[:, None] for v in darcy_dataset(240, 16, seed=3))
    spec = {"finite_volume": {"width": 16, "layers": 2, "boundary": "inclusive"}}
    model, history = train_operator(spec, (a[:200], u[:200]), (a[200:], u[200:]), tmp_path / "fv",
                                    train=TrainConfig(epochs=6, lr=1e-2), batch_size=16, progress=False)
    untrained = methods.get("operator", "finite_volume")(width=16, layers=2)
    untrained.fit_normalizer(torch.from_numpy(a[:200]), torch.from_numpy(u[:200]))
    before = evaluate_operator(untrained, a[200:], u[200:])["rel_l2"]
    scores = evaluate_operator(model, a[200:], u[200:])
    assert scores["rel_l2"] < 0.2 * before, (scores["rel_l2"], before, history.rows)
    again = load_operator(tmp_path / "fv")
    assert again.config["boundary"] == "inclusive"
    np.testing.assert_allclose(evaluate_operator(again, a[200:], u[200:])["prediction"], scores["prediction"],
                               atol=1e-6)


@pytest.mark.parametrize("field, value", [("dim", 1), ("out_channels", 2), ("kernel", 4), ("boundary", "periodic")])
def test_finite_volume_rejects_what_it_cannot_solve(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        methods.get("operator", "finite_volume")(**{field: value})
