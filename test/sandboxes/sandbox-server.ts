import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Misbehaviour a sandbox route can be told to show instead of its normal answer. */
export type Fault =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'delay'; ms: number }
  | { kind: 'body'; status?: number; body: unknown }
  | { kind: 'malformed' }
  | { kind: 'html'; status?: number }
  | { kind: 'empty'; status?: number }
  | { kind: 'oversized'; bytes: number }
  | { kind: 'hang' }
  | { kind: 'drop' }
  | { kind: 'reset-mid-body' }
  | { kind: 'drip'; intervalMs: number }
  /** The route does its work (a refresh token is spent), then the connection drops before the answer. */
  | { kind: 'handle-then-drop' }
  /** Answers `status` with the body `reply` builds from the request as received (a provider echoing it). */
  | { kind: 'echo'; status: number; reply: (request: ReceivedRequest) => unknown };

/** A request as the sandbox received it, before any parsing. */
export interface ReceivedRequest {
  path: string;
  bodyText: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface RouteCall {
  route: string;
  at: number;
  status: number;
}

export interface JsonReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as it is (with `headers`' content type) instead of `body` as JSON. */
  text?: string;
}

/** What a Node web framework answers for a path it has no route for: a 404 page, not JSON. */
export function missingRoute(method: string, path: string): JsonReply {
  return {
    status: 404,
    body: undefined,
    headers: { 'Content-Type': 'text/html; charset=utf-8' },
    text: `<!DOCTYPE html><html><body><pre>Cannot ${method} ${path.replace(/\/[^/]{20,}$/, '/…')}</pre></body></html>`,
  };
}

export type RouteHandler = (request: {
  body: unknown;
  params: string[];
  headers: Record<string, string | string[] | undefined>;
}) => JsonReply | Promise<JsonReply>;

interface RouteDefinition {
  name: string;
  method: string;
  pattern: RegExp;
  handle: RouteHandler;
}

interface InjectedFault {
  fault: Fault;
  remaining: number;
}

/**
 * A loopback HTTP server with named routes, per-route fault injection and a call
 * log. The provider sandboxes build on it; it is test and dev code only.
 */
export class SandboxServer {
  readonly calls: RouteCall[] = [];
  readonly #routes: RouteDefinition[] = [];
  readonly #faults = new Map<string, InjectedFault[]>();
  readonly #server: Server;
  readonly #notFound: (path: string) => JsonReply;
  readonly #now: () => number;
  #chaos: ((route: string) => Fault | undefined) | undefined;
  #port = 0;

  constructor(notFound: (path: string) => JsonReply, now: () => number) {
    this.#notFound = notFound;
    this.#now = now;
    this.#server = createServer((req, res) => {
      this.#dispatch(req, res).catch(() => res.destroy());
    });
  }

  route(name: string, method: string, pattern: RegExp, handle: RouteHandler): void {
    this.#routes.push({ name, method, pattern, handle });
  }

  /** Makes `route` misbehave for its next `times` calls (every call when omitted). */
  inject(route: string, fault: Fault, times = Number.POSITIVE_INFINITY): void {
    const queue = this.#faults.get(route) ?? [];
    queue.push({ fault, remaining: times });
    this.#faults.set(route, queue);
  }

  clearFaults(): void {
    this.#faults.clear();
    this.#chaos = undefined;
  }

  /** Decides per call, before any injected fault, whether the route misbehaves (random failures, outages). */
  setChaos(chaos: (route: string) => Fault | undefined): void {
    this.#chaos = chaos;
  }

  callsTo(route: string): RouteCall[] {
    return this.calls.filter((call) => call.route === route);
  }

  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.origin;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    const route = this.#routes.find(
      (candidate) => candidate.method === req.method && candidate.pattern.test(path),
    );
    const bodyText = await readBody(req);
    if (!route) {
      this.#send(res, this.#notFound(path));
      return;
    }
    const fault = this.#chaos?.(route.name) ?? this.#takeFault(route.name);
    if (fault && fault.kind !== 'handle-then-drop') {
      const received = { path: req.url ?? '/', bodyText, headers: req.headers };
      const handled = await this.#applyFault(fault, res, route.name, received);
      if (handled) return;
    }
    let body: unknown;
    try {
      // OAuth 2.0 token endpoints take form bodies; the handler sees them as a plain object.
      const isForm = req.headers['content-type']?.startsWith('application/x-www-form-urlencoded');
      body = isForm
        ? Object.fromEntries(new URLSearchParams(bodyText))
        : bodyText
          ? JSON.parse(bodyText)
          : undefined;
    } catch {
      body = Symbol.for('unparseable');
    }
    const params = path.match(route.pattern)?.slice(1) ?? [];
    // Logged on arrival, its status filled in on reply: a test that kills the client while the
    // reply is being made must find the call logged before it sees the client exit.
    const call: RouteCall = { route: route.name, at: this.#now(), status: 0 };
    this.calls.push(call);
    const reply = await route.handle({
      body,
      params: params.map((param) => decodeURIComponent(param)),
      headers: req.headers,
    });
    if (fault?.kind === 'handle-then-drop') {
      res.socket?.destroy();
      return;
    }
    call.status = reply.status;
    this.#send(res, reply);
  }

  #takeFault(route: string): Fault | undefined {
    const queue = this.#faults.get(route);
    const next = queue?.[0];
    if (!next) return undefined;
    next.remaining--;
    if (next.remaining <= 0) queue.shift();
    return next.fault;
  }

  /** Returns false when the fault only delays and the normal answer should follow. */
  async #applyFault(
    fault: Fault,
    res: ServerResponse,
    route: string,
    received: ReceivedRequest,
  ): Promise<boolean> {
    const record = (status: number) => this.calls.push({ route, at: this.#now(), status });
    switch (fault.kind) {
      case 'delay':
        await sleep(fault.ms);
        return false;
      case 'status':
        record(fault.status);
        this.#send(res, {
          status: fault.status,
          body: fault.body ?? { error: `injected ${fault.status}` },
          ...(fault.headers ? { headers: fault.headers } : {}),
        });
        return true;
      case 'body':
        record(fault.status ?? 200);
        this.#send(res, { status: fault.status ?? 200, body: fault.body });
        return true;
      case 'malformed':
        record(200);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"access": "eyJ');
        return true;
      case 'html':
        record(fault.status ?? 200);
        res
          .writeHead(fault.status ?? 200, { 'Content-Type': 'text/html' })
          .end('<html><body><h1>Service temporarily unavailable</h1></body></html>');
        return true;
      case 'empty':
        record(fault.status ?? 200);
        res.writeHead(fault.status ?? 200, { 'Content-Type': 'application/json' }).end();
        return true;
      case 'oversized':
        record(200);
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(`{"pad":"${'x'.repeat(fault.bytes)}"}`);
        return true;
      case 'hang':
        record(0);
        return true;
      case 'drop':
        record(0);
        res.socket?.destroy();
        return true;
      case 'reset-mid-body':
        record(200);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '400' });
        res.write('{"access":"eyJhbGciOiJIUzI1NiJ9.');
        setTimeout(() => res.socket?.destroy(), 20);
        return true;
      case 'handle-then-drop':
        return false;
      case 'echo':
        record(fault.status);
        this.#send(res, { status: fault.status, body: fault.reply(received) });
        return true;
      case 'drip': {
        record(200);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const timer = setInterval(() => {
          if (res.destroyed) clearInterval(timer);
          else res.write(' ');
        }, fault.intervalMs);
        res.on('close', () => clearInterval(timer));
        return true;
      }
    }
  }

  #send(res: ServerResponse, reply: JsonReply): void {
    if (res.destroyed) return;
    if (reply.text !== undefined) {
      res.writeHead(reply.status, { 'Content-Type': 'text/plain', ...reply.headers }).end(reply.text);
      return;
    }
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers }).end(text);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sliding one-minute window per key, as providers count "requests per minute". */
export class RateLimiter {
  readonly #limit: number;
  readonly #hits = new Map<string, number[]>();
  constructor(perMinute: number) {
    this.#limit = perMinute;
  }
  allow(key: string, now: number): boolean {
    const recent = (this.#hits.get(key) ?? []).filter((at) => now - at < 60_000);
    if (recent.length >= this.#limit) {
      this.#hits.set(key, recent);
      return false;
    }
    recent.push(now);
    this.#hits.set(key, recent);
    return true;
  }
}
