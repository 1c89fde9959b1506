/** `--metrics HOST:PORT` of `serve` and `tap`: Prometheus metrics of the traffic at http://HOST:PORT/metrics. */
import { Observable, Subject, ignoreElements, merge, tap } from 'rxjs';
import { metricUpdates, metricsEndpoint$, prometheusMetrics, type MetricsAddress, type MetricsListening, type MonitorEvent } from '../metrics/index.js';
import { parseNumber } from './args.js';
import { CliError, usageError } from './errors.js';

/** `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (127.0.0.1); port 0 picks a free one. */
export const parseMetricsAddress = (text: string): MetricsAddress => {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]*)):([0-9]+)$/i.exec(text.trim());
  if (!m) throw usageError(`--metrics "${text}" is not HOST:PORT (e.g. 127.0.0.1:9464 or :9464)`);
  const port = parseNumber(m[3]!, 'metrics port');
  if (port > 65535) throw usageError(`--metrics port ${port} is above 65535`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
};

/** The metrics of one command: `feed` takes each traced message and activity; `run$` serves them while subscribed. */
export interface CliMetrics {
  feed(e: MonitorEvent): void;
  readonly run$: Observable<never>;
}

const listenFailure = (err: unknown, address: MetricsAddress): CliError =>
  new CliError(`cannot serve metrics on ${address.host}:${address.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);

/** Metrics for `role` ('serve' traces from the server's side, 'tap' from the client's), announced with `announce`. */
export const cliMetrics = (text: string, role: 'serve' | 'tap', announce: (l: MetricsListening) => void): CliMetrics => {
  const address = parseMetricsAddress(text);
  const prometheus = prometheusMetrics({ role });
  const events = new Subject<MonitorEvent>();
  const endpoint$ = new Observable<never>((subscriber) =>
    metricsEndpoint$(prometheus.registry, address).subscribe({ next: announce, error: (err: unknown) => subscriber.error(listenFailure(err, address)) }),
  );
  const record$ = events.pipe(metricUpdates({ side: role === 'serve' ? 'server' : 'client' }), tap(prometheus.record), ignoreElements());
  return { feed: (e) => events.next(e), run$: merge(endpoint$, record$) };
};
