// The node's HTTP endpoint for operators (docs/operations.md, "Monitoring"): Prometheus metrics,
// Kubernetes probes, and a status page, on node:http with no framework. It only reads the node:
// every route is answered from state the node already holds, so a probe has no side effects.

import http from 'node:http';
import type net from 'node:net';
import type { NodeEnvironment } from '../server/node-environment.js';
import type { RequestObserver } from '../server/request-observer.js';
import { LeaderHistory } from './leader-history.js';
import type { MonitoredNode } from './monitored-node.js';
import { NodeMetrics } from './node-metrics.js';
import { nodeStatus, notReadyReason } from './node-status.js';
import { observedEnvironment } from './observed-storage.js';
import { statusPageHtml } from './status-page.js';

/** `NodeOptions.http`: where the endpoint listens, and when /readyz says ready. */
export interface HttpOptions {
  /** "host:port" to listen on; port 0 picks a free one (DqliteNode.httpAddress tells which). */
  readonly address: string;
  /**
   * /readyz answers 503 while the applied index trails the commit index this node knows by more
   * than this many entries. Default 1000.
   */
  readonly readyLagEntriesMax?: number;
}

/** Connections the endpoint serves at once; more wait in the kernel's backlog. */
const connectionsMax = 64;
/** A request whose headers take longer than this is dropped (a probe answers in milliseconds). */
const requestTimeoutMs = 10_000;

const knownOptions = new Set(['address', 'readyLagEntriesMax']);

/** Checks `NodeOptions.http` at once, naming what is wrong (createNode's rule). */
export function checkHttpOptions(options: HttpOptions, where: string): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${where} must be an object like { address: '127.0.0.1:9100' }`);
  }
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key)) throw new TypeError(`${where}: unknown option "${key}"`);
  }
  if (typeof options.address !== 'string' || hostPort(options.address) === undefined) {
    throw new TypeError(`${where}.address must be "host:port"`);
  }
  const lag = options.readyLagEntriesMax;
  if (lag !== undefined && (!Number.isSafeInteger(lag) || lag < 0)) {
    throw new RangeError(`${where}.readyLagEntriesMax must be an integer >= 0`);
  }
}

/**
 * One node's monitoring: its metrics, which the node's sessions and storage report to from the
 * start, and, once `start` names the running node, the HTTP server that reads it.
 */
export class NodeMonitoring {
  readonly #options: HttpOptions;
  readonly #metrics = new NodeMetrics();
  readonly #history = new LeaderHistory();
  #server: http.Server | undefined;
  #address: string | undefined;
  #stopEvents: (() => void) | undefined;

  constructor(options: HttpOptions) {
    checkHttpOptions(options, 'createNode: http');
    this.#options = Object.freeze({ ...options });
  }

  /** What the node's client sessions report to. */
  get requests(): RequestObserver {
    return this.#metrics.requests;
  }

  /** `base` with its storage timed for the metrics. */
  environment(base: NodeEnvironment): NodeEnvironment {
    return observedEnvironment(base, this.#metrics.storage);
  }

  /** The address the endpoint listens on ("host:port", the port resolved), once started. */
  get address(): string | undefined {
    return this.#address;
  }

  /** Starts serving `node`; resolves once listening. */
  async start(node: MonitoredNode): Promise<void> {
    this.#metrics.attach(node);
    this.#stopEvents = node.engine.onEvent((event) => {
      if (event.type !== 'leader-changed') return;
      this.#history.record({ atMs: Date.now(), term: event.term, leaderId: event.leaderId });
      this.#metrics.leaderChanged();
    });
    const server = http.createServer((request, response) => {
      this.#route(node, request, response).catch((error: Error) => {
        // A scrape failed (a collect callback threw): say so to the scraper, keep serving.
        if (!response.headersSent) answer(response, 500, 'text/plain', `${error.message}\n`);
        else response.destroy(error);
      });
    });
    server.maxConnections = connectionsMax;
    server.requestTimeout = requestTimeoutMs;
    server.headersTimeout = requestTimeoutMs;
    const endpoint = hostPort(this.#options.address) as { host: string; port: number };
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(endpoint.port, endpoint.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as net.AddressInfo;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    this.#address = `${host}:${bound.port}`;
    this.#server = server;
  }

  /** Stops listening and closes every connection, idle keep-alive ones included. */
  async close(): Promise<void> {
    this.#stopEvents?.();
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  async #route(
    node: MonitoredNode,
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return answer(response, 405, 'text/plain', 'only GET and HEAD\n');
    }
    const path = (request.url ?? '/').split('?')[0];
    const lagEntriesMax = this.#options.readyLagEntriesMax ?? 1000;
    switch (path) {
      case '/metrics': {
        const { text, contentType } = await this.#metrics.scrape();
        return answer(response, 200, contentType, text);
      }
      case '/healthz':
        return node.closing()
          ? answer(response, 503, 'text/plain', 'the node is closing\n')
          : answer(response, 200, 'text/plain', 'ok\n');
      case '/readyz': {
        const reason = notReadyReason(node, lagEntriesMax);
        return reason === undefined
          ? answer(response, 200, 'text/plain', 'ready\n')
          : answer(response, 503, 'text/plain', `${reason}\n`);
      }
      case '/status.json': {
        const status = nodeStatus(node, {
          http: this.#address ?? this.#options.address,
          history: this.#history,
          lagEntriesMax,
        });
        // Read-only figures: the status page of another node may fetch them (docs/operations.md).
        response.setHeader('Access-Control-Allow-Origin', '*');
        return answer(response, 200, 'application/json', JSON.stringify(status));
      }
      case '/':
        return answer(response, 200, 'text/html; charset=utf-8', statusPageHtml);
      default:
        return answer(
          response,
          404,
          'text/plain',
          'not found: try /, /metrics, /healthz, /readyz, /status.json\n',
        );
    }
  }
}

function answer(
  response: http.ServerResponse,
  statusCode: number,
  contentType: string,
  body: string,
): void {
  response.writeHead(statusCode, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

/** "host:port" (an IPv6 host in brackets), or undefined. */
function hostPort(address: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:/[\]]+):(\d{1,5})$/.exec(address);
  if (match === null || Number(match[2]) > 65535) return undefined;
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}
