import { Readable } from 'node:stream';
import { type HttpRequest, HttpResponse } from '@smithy/core/transport';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions } from '@smithy/types';

/** What an AWS API can do that moto never does: throttle, deny, lose the connection, fail in KMS. */
export type AwsFault =
  | { kind: 'error'; status: number; type: string; message: string }
  | { kind: 'network'; code: string }
  /** The request reaches the emulator and takes effect, but the answer is lost on the way back. */
  | { kind: 'lose-response' };

/**
 * The SDK's HTTP handler, with faults injected per operation. The faults are
 * real HTTP answers (AWS's JSON error shape) or real socket errors, so the SDK's
 * own deserialisation and retry strategy handle them as they would AWS's.
 */
export class AwsFaultInjector extends NodeHttpHandler {
  readonly calls = new Map<string, number>();
  readonly #faults = new Map<string, { fault: AwsFault; remaining: number; skip: number }>();
  /**
   * moto evaluates DynamoDB condition expressions without locking, so two
   * concurrent conditional writes can both succeed; DynamoDB makes each one
   * atomic. These operations are therefore sent to moto one at a time.
   */
  static readonly #atomicOperations = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
  #atomicQueue: Promise<unknown> = Promise.resolve();

  /** `operation` as in the X-Amz-Target header: "PutParameter", "GetSecretValue", …; `skip` calls pass first. */
  inject(operation: string, fault: AwsFault, times = Number.POSITIVE_INFINITY, skip = 0): void {
    this.#faults.set(operation, { fault, remaining: times, skip });
  }

  clear(): void {
    this.#faults.clear();
  }

  override async handle(
    request: HttpRequest,
    options?: HttpHandlerOptions,
  ): Promise<{ response: HttpResponse }> {
    const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'] ?? '';
    const operation = target.split('.').pop() ?? '';
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    const entry = this.#faults.get(operation);
    const skipped = entry !== undefined && entry.skip > 0;
    if (entry && skipped) entry.skip -= 1;
    if (!entry || skipped || entry.remaining <= 0) {
      if (!AwsFaultInjector.#atomicOperations.has(operation)) return super.handle(request, options);
      const turn = this.#atomicQueue.then(() => super.handle(request, options));
      this.#atomicQueue = turn.catch(() => undefined);
      return turn;
    }
    entry.remaining -= 1;
    const { fault } = entry;
    if (fault.kind === 'lose-response') {
      await super.handle(request, options);
      throw Object.assign(new Error('socket hang up (ECONNRESET)'), { code: 'ECONNRESET', name: 'Error' });
    }
    if (fault.kind === 'network') {
      throw Object.assign(new Error(`socket hang up (${fault.code})`), { code: fault.code, name: 'Error' });
    }
    return {
      response: new HttpResponse({
        statusCode: fault.status,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'injected' },
        body: Readable.from([Buffer.from(JSON.stringify({ __type: fault.type, message: fault.message }))]),
      }),
    };
  }
}
