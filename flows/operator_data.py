"""Stage ``operator_data``: seeded PDE solutions (Darcy by default) into field stores for operator learning."""

from __future__ import annotations

from prefect import flow

from flows._params import main, section
from spectraflow.config import OperatorDataConfig, from_mapping
from tasks.operator import operator_data


@flow(name="operator-data")
def operator_data_flow() -> list[str]:
    return operator_data(from_mapping(OperatorDataConfig, section("operator_data"), "operator_data"))


if __name__ == "__main__":
    main(operator_data_flow)
