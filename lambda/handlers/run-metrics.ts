import { createHash } from 'node:crypto';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ResolvedSource } from '../config/source-config.ts';
import type { HttpRuntime } from '../http/provider-http-client.ts';
import { leaseKey } from '../refresh/refresh-source.ts';
import type { SourceLock } from '../refresh/source-lock.ts';

interface ProviderStats {
  calls: number;
  retries: number;
  rateLimited: number;
  latenciesMs: number[];
  lockWaits: Set<string>;
}

/**
 * Provider-health figures of one invocation, per provider, gathered around the
 * refresh cycle without touching it: the HTTP runtime's fetch is timed (each
 * call's latency and status), and the lock reports who found a source busy. A
 * call is a retry when the identical request (method, URL, body) already failed
 * with a retryable answer in this invocation; requests are compared by a digest
 * kept in memory only, never logged or emitted.
 */
export class RunMetrics {
  readonly #sources: ResolvedSource[];
  readonly #stats = new Map<string, ProviderStats>();
  readonly #failedRequests = new Set<string>();

  constructor(sources: ResolvedSource[]) {
    // Longest base URL first, so nested prefixes attribute calls to the most specific source.
    this.#sources = [...sources].sort((a, b) => b.baseUrl.length - a.baseUrl.length);
  }

  instrumentHttp(runtime: HttpRuntime): HttpRuntime {
    return {
      ...runtime,
      fetch: async (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        const provider = this.#sources.find((source) => url.startsWith(source.baseUrl))?.provider.name;
        if (!provider) return runtime.fetch(input, init);
        const stats = this.#statsOf(provider);
        const request = createHash('sha256')
          .update(`${init?.method ?? 'GET'} ${url} ${typeof init?.body === 'string' ? init.body : ''}`)
          .digest('hex');
        stats.calls += 1;
        if (this.#failedRequests.has(request)) stats.retries += 1;
        const started = runtime.now();
        try {
          const response = await runtime.fetch(input, init);
          stats.latenciesMs.push(runtime.now() - started);
          if (response.status === 429) stats.rateLimited += 1;
          if (response.status === 429 || response.status >= 500) this.#failedRequests.add(request);
          return response;
        } catch (error) {
          stats.latenciesMs.push(runtime.now() - started);
          this.#failedRequests.add(request);
          throw error;
        }
      },
    };
  }

  instrumentLock(lock: SourceLock): SourceLock {
    return {
      tryAcquire: async (key, budget) => {
        const lease = await lock.tryAcquire(key, budget);
        const source = this.#sources.find(
          (candidate) => leaseKey(candidate.provider.name, candidate.id) === key,
        );
        if (!lease && source) this.#statsOf(source.provider.name).lockWaits.add(key);
        return lease;
      },
    };
  }

  /** Latency per call (for p50/p99), calls (attempts), retries, 429 answers, sources that waited for a lock. */
  emit(metrics: Metrics): void {
    for (const [provider, stats] of this.#stats) {
      const emit = (name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number) => {
        const single = metrics.singleMetric();
        single.addDimension('Provider', provider);
        single.addMetric(name, unit, value);
      };
      for (const latency of stats.latenciesMs) emit('ProviderLatency', MetricUnit.Milliseconds, latency);
      emit('ProviderCalls', MetricUnit.Count, stats.calls);
      emit('ProviderRetries', MetricUnit.Count, stats.retries);
      emit('ProviderRateLimited', MetricUnit.Count, stats.rateLimited);
      if (stats.lockWaits.size > 0) emit('LockWaits', MetricUnit.Count, stats.lockWaits.size);
    }
  }

  #statsOf(provider: string): ProviderStats {
    let stats = this.#stats.get(provider);
    if (!stats) {
      stats = { calls: 0, retries: 0, rateLimited: 0, latenciesMs: [], lockWaits: new Set() };
      this.#stats.set(provider, stats);
    }
    return stats;
  }
}
