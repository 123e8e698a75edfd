"""FCLS: fully constrained least squares (non-negative abundances summing to one).

D. C. Heinz and C.-I Chang, "Fully constrained least squares linear spectral mixture analysis method for
material quantification in hyperspectral imagery," IEEE TGRS 39(3), 529-545, 2001. Solved exactly by
active-set enumeration (:func:`exact_least_squares`) up to ``max_exact`` endmembers, by ADMM beyond.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import register
from .nnls import NNLS


@register("unmix", "fcls")
@dataclass(frozen=True)
class FCLS(NNLS):
    """NNLS whose abundances also sum to one."""

    name = "fcls"
    sum_to_one = True
