"""Neural operators, one file each: ``get("operator", name)(**config)`` is a ``torch.nn.Module`` from input
fields ``(batch, in_channels, *grid)`` to output fields, at any resolution.

``fno``             Fourier neural operator (spectral convolutions on truncated modes).
``transform_once``  Transform-Once: one FFT in, every layer in the frequency domain, one inverse FFT out.
``deeponet``        DeepONet: branch (input at fixed sensors) × trunk (query coordinates).
``finite_volume``   learned finite volumes: a five-point scheme for −∇·(k∇u) = f whose face conductivities
                   and source a CNN predicts; the output is that scheme's exact solution (2-D elliptic);
                   trainable on Darcy's residual alone too.
``nsm``             neural spectral method: layers in the sine basis of u = 0 on the boundary (exact), and
                   trainable on Darcy's residual alone, with no solution data (``loss="darcy_residual"``; any
                   model is, these two best).
``lsm``             latent spectral model: a U-Net whose every scale projects onto a few latent tokens, updates
                   them with a trigonometric expansion, and projects back (2-D).
"""

from . import deeponet, finite_volume, fno, lsm, nsm, transform_once  # noqa: F401  (registration)
from ._base import OperatorModel
from ._data import read_neuraloperator_pt
from ._run import store_name, train_operator_stores, write_operator_data
from ._training import LOSSES, evaluate_operator, load_operator, refine_operator, train_operator

__all__ = ["OperatorModel", "read_neuraloperator_pt", "train_operator", "refine_operator", "evaluate_operator",
           "load_operator",
           "LOSSES", "write_operator_data", "train_operator_stores", "store_name"]
