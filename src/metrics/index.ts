/**
 * Metrics of vfio-user traffic: counter updates from traces and a server's activity, folded into
 * snapshots (an Observable for a user's own monitoring) or recorded as Prometheus metrics and
 * served over HTTP.
 */
export { metricUpdates, type ActivityEvent, type Flow, type MetricUpdate, type MetricUpdatesOptions, type MonitorEvent } from './updates.js';
export { applyMetric, emptyMetrics, LATENCY_BUCKETS, metricsSnapshots, type LatencySummary, type MetricsSnapshot } from './counters.js';
export { prometheusMetrics, type PrometheusMetrics } from './prometheus.js';
export { metricsEndpoint$, type MetricsAddress, type MetricsListening } from './endpoint.js';
