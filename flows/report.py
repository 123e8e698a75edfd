"""Stage ``report``: one self-contained HTML page of the run (metrics against the previous run and the
benchmarks, figures, provenance, parameters). The pipeline flow publishes its tables as Prefect artifacts."""

from __future__ import annotations

from prefect import flow

from flows._params import main, section
from spectraflow.config import ReportConfig, from_mapping
from tasks.report import write_html_report


@flow(name="report")
def report() -> str:
    config = from_mapping(ReportConfig, section("report"), "report")
    write_html_report(config.out, config.baseline)
    return config.out


if __name__ == "__main__":
    main(report)
