/** The HTTP edge of the metrics: `GET /metrics` in the Prometheus text format, while subscribed. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Observable } from 'rxjs';
import type { Registry } from 'prom-client';

/** Where the endpoint listens. */
export interface MetricsAddress {
  readonly host: string;
  /** 0 picks a free port (reported in the `listening` event). */
  readonly port: number;
}

/** The endpoint is listening. */
export interface MetricsListening {
  readonly kind: 'listening';
  readonly host: string;
  readonly port: number;
  /** The URL to scrape. */
  readonly url: string;
}

const answer = (registry: Registry): Parameters<typeof createServer>[1] => (req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('vfio-user metrics are at /metrics\n');
    return;
  }
  registry.metrics().then(
    (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
    (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`),
  );
};

/**
 * Serves `registry` at http://HOST:PORT/metrics while subscribed: emits `listening` once bound,
 * errors with the listen error (EADDRINUSE...). Unsubscribing closes the server and its connections.
 */
export const metricsEndpoint$ = (registry: Registry, address: MetricsAddress): Observable<MetricsListening> =>
  new Observable<MetricsListening>((subscriber) => {
    const server: Server = createServer(answer(registry));
    server.on('error', (err) => subscriber.error(err));
    server.listen(address.port, address.host, () => {
      const { port } = server.address() as AddressInfo;
      const host = address.host.includes(':') ? `[${address.host}]` : address.host;
      subscriber.next({ kind: 'listening', host: address.host, port, url: `http://${host}:${port}/metrics` });
    });
    return () => {
      server.close();
      server.closeAllConnections();
    };
  });
