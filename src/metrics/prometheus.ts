/**
 * The counters as Prometheus metrics (prom-client): a registry of its own (not prom-client's global
 * one, so two servers in a process do not mix), fed one update at a time.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS } from './counters.js';
import type { MetricUpdate } from './updates.js';

/** The registry and the function that records an update in it. */
export interface PrometheusMetrics {
  readonly registry: Registry;
  record(update: MetricUpdate): void;
}

/** Creates the vfio-user metrics in a new registry; `labels` are added to every metric (e.g. { role: 'tap' }). */
export const prometheusMetrics = (labels: Readonly<Record<string, string>> = {}): PrometheusMetrics => {
  const registry = new Registry();
  registry.setDefaultLabels({ ...labels });
  const registers = [registry];
  const messages = new Counter({ name: 'vfio_user_messages_total', help: 'Messages by command, type (command or reply) and flow', labelNames: ['command', 'type', 'flow'], registers });
  const errors = new Counter({ name: 'vfio_user_errors_total', help: 'Error replies by command and errno', labelNames: ['command', 'errno'], registers });
  const latency = new Histogram({ name: 'vfio_user_request_duration_seconds', help: 'Time from a command to its reply, by command', labelNames: ['command'], buckets: [...LATENCY_BUCKETS], registers });
  const posted = new Counter({ name: 'vfio_user_posted_writes_total', help: 'Region writes sent without a reply (No_reply), WRITE_MULTI entries included', registers });
  const dma = new Counter({ name: 'vfio_user_dma_bytes_total', help: 'Bytes of guest memory the device read or wrote, by path (mapping: through the client\'s fd; messages: DMA_READ/DMA_WRITE)', labelNames: ['path', 'direction'], registers });
  const interrupts = new Counter({ name: 'vfio_user_interrupts_total', help: 'Interrupts the device raised, by type and vector', labelNames: ['type', 'vector'], registers });
  const maps = new Gauge({ name: 'vfio_user_dma_maps', help: 'DMA mappings the client holds (successful DMA_MAP less DMA_UNMAP)', registers });
  const record = (u: MetricUpdate): void => {
    switch (u.kind) {
      case 'message':
        return messages.inc({ command: u.command, type: u.type, flow: u.flow });
      case 'error':
        return errors.inc({ command: u.command, errno: u.errno });
      case 'latency':
        return latency.observe({ command: u.command }, u.seconds);
      case 'posted-write':
        return posted.inc(u.writes);
      case 'dma':
        return dma.inc({ path: u.path, direction: u.direction }, u.bytes);
      case 'interrupt':
        return interrupts.inc({ type: u.type, vector: String(u.vector) });
      case 'dma-maps':
        return maps.set(u.held);
    }
  };
  return { registry, record };
};
