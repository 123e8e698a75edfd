"""Stage ``train_operator``: a neural operator trained on the generated data, evaluated at every resolution."""

from __future__ import annotations

from prefect import flow

from flows._params import main, section
from spectraflow.config import TrainOperatorConfig, from_mapping
from tasks.operator import train_operator
from tasks.train import training_figure


@flow(name="train-operator")
def train_operator_flow(metrics_path: str = "data/metrics/train_operator.json",
                        curves_path: str = "data/plots/train_operator.csv",
                        figure_path: str = "data/plots/operator.png",
                        curves_figure_path: str = "data/plots/train_operator.png",
                        resolutions_path: str = "data/plots/operator_resolutions.csv") -> str:
    config = from_mapping(TrainOperatorConfig, section("train_operator"), "train_operator")
    checkpoint = train_operator(config, metrics_path, curves_path, figure_path, resolutions_path)
    training_figure(curves_path, curves_figure_path, "operator training")
    return checkpoint


if __name__ == "__main__":
    main(train_operator_flow)
