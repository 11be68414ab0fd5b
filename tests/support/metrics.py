"""The Prometheus series TrackCC's processes export, in one place.

The chart's alert rules and dashboard may only name series from here (tests/helm), which
renders without a running stack. The end-to-end test (tests/e2e/test_backup_restore.py)
scrapes every process of the running stack and checks this list and the rules against what
is really exported (``scraped_series``), so that a renamed metric breaks a test instead of
silencing an alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Literal

from prometheus_client.parser import text_string_to_metric_families

MetricType = Literal["counter", "gauge", "histogram"]

# name -> (type, labels). Counter names already carry ``_total`` as exported.
SERVICE_METRICS: Final[Mapping[str, tuple[MetricType, frozenset[str]]]] = {
    "grpc_server_handled_total": (
        "counter",
        frozenset({"grpc_type", "grpc_service", "grpc_method", "grpc_code"}),
    ),
    "grpc_server_handling_seconds": (
        "histogram",
        frozenset({"grpc_type", "grpc_service", "grpc_method"}),
    ),
    "http_server_request_duration_seconds": (
        "histogram",
        frozenset({"method", "route", "status"}),
    ),
    "trackcc_auth_logins_total": ("counter", frozenset({"result"})),
    "trackcc_auth_lockouts_total": ("counter", frozenset()),
    "trackcc_mail_outbox_pending": ("gauge", frozenset()),
    "trackcc_password_hash_seconds": ("histogram", frozenset({"operation"})),
}

# Labels Prometheus adds to every scraped series (ServiceMonitor target labels).
TARGET_LABELS: Final[frozenset[str]] = frozenset(
    {"job", "namespace", "pod", "service", "instance", "endpoint", "container"}
)

# kube-state-metrics series the operational alerts use (backup Jobs, restarts): a documented
# prerequisite of the chart (README), not something TrackCC exports.
KUBE_STATE_METRICS: Final[Mapping[str, frozenset[str]]] = {
    "kube_job_status_failed": frozenset({"job_name"}),
    "kube_cronjob_status_last_successful_time": frozenset({"cronjob"}),
    "kube_pod_container_status_restarts_total": frozenset({"pod", "container"}),
}


def exported_series() -> dict[str, frozenset[str]]:
    """Every series name a scrape of the services shows, with its labels.

    A histogram ``h`` appears as ``h_bucket`` (plus ``le``), ``h_sum`` and ``h_count``.
    """
    series: dict[str, frozenset[str]] = {}
    for name, (kind, labels) in SERVICE_METRICS.items():
        if kind == "histogram":
            series[f"{name}_bucket"] = labels | {"le"}
            series[f"{name}_sum"] = labels
            series[f"{name}_count"] = labels
        else:
            series[name] = labels
    return series


def scraped_series(texts: Iterable[str]) -> dict[str, frozenset[str]]:
    """Every series name in some Prometheus text expositions, with the union of its labels."""
    series: dict[str, set[str]] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                series.setdefault(sample.name, set()).update(sample.labels)
    return {name: frozenset(labels) for name, labels in series.items()}
