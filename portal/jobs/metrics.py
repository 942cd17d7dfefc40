"""The job queue's figures in Prometheus' text format, for a monitoring system to scrape.

Gauges read from the queue's tables at each scrape (:func:`monitoring.figures`), written by
``prometheus_client``: the figures live in the database, shared by every web and worker
process, so no process keeps counters of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from portal.jobs.monitoring import Figures


class _QueueCollector(Collector):
    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily]:
        figures = self.figures
        jobs = GaugeMetricFamily(
            "madoguchi_jobs", "Jobs in the queue, by task and status.", labels=["task", "status"]
        )
        for (task, status), count in sorted(figures.counts.items()):
            jobs.add_metric([task, status], count)
        yield jobs
        yield GaugeMetricFamily(
            "madoguchi_jobs_oldest_waiting_seconds",
            "How long the oldest job ready to run has waited for a worker (0: none waits).",
            value=figures.oldest_waiting_seconds,
        )
        finished = GaugeMetricFamily(
            "madoguchi_jobs_finished_last_hour",
            "Jobs that ended in the last hour, by task and final status.",
            labels=["task", "status"],
        )
        for (task, status), count in sorted(figures.finished_last_hour.items()):
            finished.add_metric([task, status], count)
        yield finished
        workers = GaugeMetricFamily(
            "madoguchi_job_workers",
            "Workers by heartbeat: alive, or stopped (taken for dead).",
            labels=["state"],
        )
        workers.add_metric(["alive"], figures.workers_alive)
        workers.add_metric(["stopped"], figures.workers_stopped)
        yield workers


def exposition(figures: Figures) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_QueueCollector(figures))
    return generate_latest(registry)
