"""Tasks of the operator-learning stages."""

from __future__ import annotations

from prefect import task

from spectraflow._atomic import write_csv
from spectraflow.config import OperatorDataConfig, TrainOperatorConfig
from tasks.metrics import record_metrics


@task(name="operator-data")
def operator_data(config: OperatorDataConfig) -> list[str]:
    """Generate the train/test field stores of ``config.equation`` with our seeded solver."""
    from spectraflow.methods.operators import write_operator_data

    return [str(p) for p in write_operator_data(config.out, config.equation, config.train, config.test, config.size,
                                                config.test_sizes, config.seed, config.parameters)]


@task(name="train-operator")
def train_operator(config: TrainOperatorConfig, metrics_path: str, curves_path: str, figure_path: str,
                   resolutions_path: str) -> str:
    """Train ``config.model``, evaluate it at every test resolution; write the metrics, the errors per
    resolution (a table for ``dvc plots``) and the figure."""
    from spectraflow.methods.operators import train_operator_stores
    from spectraflow.report import operator_overview

    metrics, evaluation = train_operator_stores(config.input, config.out, config.model, train=config.settings(),
                                                batch_size=config.batch_size, loss=config.loss,
                                                sobolev_order=config.sobolev_order, symmetries=config.symmetries,
                                                curves=curves_path, resume=True)
    record_metrics(metrics_path, metrics)
    rows = [{"resolution": int(k.removeprefix("test_")), **v} for k, v in metrics.items() if k.startswith("test_")]
    write_csv(resolutions_path, rows)
    operator_overview(evaluation["inputs"], evaluation["target"], evaluation["prediction"], figure_path,
                      title=f"{metrics['model']} on {metrics['equation']}, test set")
    return config.out
