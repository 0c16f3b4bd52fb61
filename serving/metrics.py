"""Prometheus metrics: Litestar's per-route request counts and latency histograms, plus the
snapshot being served (version, age, degraded, swaps) read from the live store at scrape time."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from serving.snapshot_store import SnapshotStore


class SnapshotCollector(Collector):
    """Reads every live SnapshotStore of this process (normally one) when scraped."""

    def __init__(self) -> None:
        self._stores: weakref.WeakSet[SnapshotStore] = weakref.WeakSet()

    def track(self, store: SnapshotStore) -> None:
        self._stores.add(store)

    def collect(self) -> Iterator[object]:
        info = InfoMetricFamily("trending_snapshot", "The serving snapshot version in use")
        age = GaugeMetricFamily(
            "trending_snapshot_age_seconds", "Seconds since the served snapshot was built"
        )
        loaded = GaugeMetricFamily("trending_snapshot_loaded", "1 when a snapshot is loaded")
        degraded = GaugeMetricFamily(
            "trending_snapshot_degraded",
            "1 while the served snapshot is not the one CURRENT names (see /ready)",
        )
        swaps = CounterMetricFamily(
            "trending_snapshot_swaps", "Snapshot versions switched to since start"
        )
        stores = list(self._stores)
        current = next((s.current for s in stores if s.current is not None), None)
        loaded.add_metric([], 1.0 if current is not None else 0.0)
        if current is not None:
            info.add_metric([], {"version": current.version})
            age.add_metric([], current.age_seconds())
        degraded.add_metric([], 1.0 if any(s.degraded for s in stores) else 0.0)
        swaps.add_metric([], float(sum(s.swaps for s in stores)))
        yield from (info, age, loaded, degraded, swaps)


_lock = threading.Lock()
_collector: SnapshotCollector | None = None


def snapshot_collector() -> SnapshotCollector:
    """The process-wide collector, registered once with the default registry."""
    global _collector
    with _lock:
        if _collector is None:
            _collector = SnapshotCollector()
            REGISTRY.register(_collector)
        return _collector
