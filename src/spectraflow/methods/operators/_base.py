"""What an operator model is: ``get("operator", name)(**config)`` is a ``torch.nn.Module`` mapping input fields
``(batch, in_channels, *grid)`` to output fields ``(batch, out_channels, *grid)`` on the unit interval/square,
at any resolution of the grid.

Every model normalises its input and output with per-channel statistics held as buffers (fitted on the
training data by :meth:`OperatorModel.fit_normalizer`, saved in the checkpoint), so a checkpoint alone
reproduces predictions; per-channel (not per-pixel) statistics keep the model resolution-free.

With ``residual`` a model predicts the change from its input, ``output = input + model(input)`` (one input channel
added to every output channel, or channel to channel), its output statistics those of that change: for a map
whose output is its input evolved, above all a trajectory that starts at the input (its first step is then exact).
Measured on the Burgers trajectory (``benchmarks/results/operators_equations.md``, 3 seeds): our ``fno``'s relative
L2 0.0070 → 0.0052 (neuraloperator's FNO behind the same option: 0.0070 → 0.0075). On u₀ ↦ u(T), far from u₀, it
costs (0.0057 → 0.0072, ``benchmarks/results/operators_residual.md``), so it is an option, off by default.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from ...errors import ConfigError
from ._sine import poisson_scale

__all__ = ["OperatorModel", "grid_coordinates"]


def grid_coordinates(grid: tuple[int, ...], batch: int, device: Any, dtype: Any) -> torch.Tensor:
    """``(batch, dim, *grid)`` coordinates in [0, 1] of a uniform grid including both ends."""
    axes = [torch.linspace(0.0, 1.0, n, device=device, dtype=dtype) for n in grid]
    mesh = torch.stack(torch.meshgrid(*axes, indexing="ij"))
    return mesh.expand(batch, *mesh.shape)


class OperatorModel(nn.Module):
    """Base of the operator models: configuration checks, normalisation and the config a checkpoint records."""

    name: ClassVar[str]

    def __init__(self, in_channels: int, out_channels: int, dim: int, *, residual: bool = False,
                 **sizes: int) -> None:
        """``sizes``: the model's own hyperparameters (positive integers), kept as attributes and in ``config``;
        ``residual``: see the module's docstring."""
        super().__init__()
        if dim not in (1, 2):
            raise ConfigError(f"operator {self.name!r}: dim={dim}; expected 1 or 2 (spatial dimensions)")
        if in_channels < 1 or out_channels < 1:
            raise ConfigError(f"operator {self.name!r}: in_channels={in_channels}, out_channels={out_channels}; "
                              "expected positive channel counts")
        for field, value in sizes.items():
            if not isinstance(value, int) or value < 1:
                self._fail(field, value, "a positive integer")
            setattr(self, field, value)
        self.in_channels, self.out_channels, self.dim = in_channels, out_channels, dim
        if residual is not False and (residual is not True or in_channels not in (1, out_channels)):
            self._fail("residual", residual, f"true or false; true adds the input to the output, so it needs one "
                       f"input channel or as many as the {out_channels} output channels (not {in_channels})")
        self.residual = residual
        self._config: dict[str, Any] = {"in_channels": in_channels, "out_channels": out_channels, "dim": dim, **sizes,
                                        **({"residual": True} if residual else {})}
        self.register_buffer("input_mean", torch.zeros(in_channels))
        self.register_buffer("input_std", torch.ones(in_channels))
        self.register_buffer("output_mean", torch.zeros(out_channels))
        self.register_buffer("output_std", torch.ones(out_channels))

    def _fail(self, field: str, value: Any, expected: str) -> None:
        raise ConfigError(f"operator {self.name!r}: {field}={value!r}; expected {expected}")

    def _option(self, field: str, value: str, allowed: tuple[str, ...], meaning: str = "") -> str:
        """A string option checked against ``allowed``, kept as an attribute and in ``config``."""
        if value not in allowed:
            self._fail(field, value, f"one of {allowed}" + (f" ({meaning})" if meaning else ""))
        setattr(self, field, value)
        self._config[field] = value
        return value

    @property
    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this model (recorded in checkpoints)."""
        return dict(self._config)

    def fit_normalizer(self, inputs: torch.Tensor, outputs: torch.Tensor | None) -> None:
        """Per-channel mean and standard deviation of the training inputs and outputs. Without solution data
        (``None``: a residual loss, whose equation is Darcy's with unit forcing) the output's mean is 0 and its
        scale the equation's: the spread of ``−∇·(ā∇u) = 1``'s solution for the inputs' mean coefficient ``ā``."""
        reduce = [0, *range(2, inputs.ndim)]
        if outputs is not None and self.residual:
            outputs = outputs - inputs
        stats = {"input": inputs.float(), **({} if outputs is None else {"output": outputs.float()})}
        with torch.no_grad():
            for name, values in stats.items():
                self.get_buffer(f"{name}_mean").copy_(values.mean(reduce))
                self.get_buffer(f"{name}_std").copy_(values.std(reduce).clamp_min(1e-8))
            if outputs is None:
                self.get_buffer("output_mean").zero_()
                self.get_buffer("output_std").fill_(poisson_scale() / float(inputs.float().mean()))

    def refinable_parameters(self) -> list[nn.Parameter]:
        """What spectral refinement fine-tunes: the spectral layers (a ``spectral`` module list) where the model
        has them, every parameter otherwise."""
        spectral = getattr(self, "spectral", None)
        return list((spectral if isinstance(spectral, nn.Module) else self).parameters())

    def _shape(self, stat: torch.Tensor) -> torch.Tensor:
        return stat.view(1, -1, *(1,) * self.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != self.dim + 2 or x.shape[1] != self.in_channels:
            raise ConfigError(f"operator {self.name!r}: input of shape {tuple(x.shape)}; expected (batch, "
                              f"{self.in_channels}, {', '.join(['n'] * self.dim)})")
        scale = {name: self._shape(self.get_buffer(name))
                 for name in ("input_mean", "input_std", "output_mean", "output_std")}
        normalised = (x - scale["input_mean"]) / scale["input_std"]
        output = self.core(normalised) * scale["output_std"] + scale["output_mean"]
        return output + x if self.residual else output

    def core(self, x: torch.Tensor) -> torch.Tensor:
        """The model on normalised fields."""
        raise NotImplementedError
