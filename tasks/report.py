"""Tasks of the report: the HTML page, and the same tables as a Prefect markdown artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact

from spectraflow.report.document import Report


@task(name="write-report")
def write_html_report(out: str, baseline: str) -> Report:
    """The self-contained page of this workspace's run at ``out``."""
    from spectraflow.report.document import write_report

    return write_report(out, ".", baseline)[1]


@task(name="publish-report")
def publish_report(html_path: str, baseline: str) -> list[str]:
    """The whole report as markdown and a link to the page (each stage published its own metrics table,
    ``metrics-<stage>``, when it ran). Keys stay the same from run to run, so the Artifacts page keeps each one's
    history."""
    from spectraflow.report.document import collect_report, render_markdown

    report = collect_report(".", baseline)
    create_markdown_artifact(key="pipeline-report", markdown=render_markdown(report, html_path),
                             description="the run's report (the HTML page holds the figures)")
    page = Path(html_path).resolve()
    create_link_artifact(key="pipeline-report-page", link=page.as_uri(), link_text=str(html_path),
                         description="the self-contained HTML report")
    return ["pipeline-report", "pipeline-report-page"]
