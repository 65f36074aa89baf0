import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import {
  createRefreshHandler,
  type RefreshHandlerOptions,
} from '../../lambda/handlers/create-refresh-handler.ts';
import { OAuth2Provider } from '../../lambda/providers/oauth2.ts';
import { PapayaProvider } from '../../lambda/providers/papaya.ts';
import { PaypackProvider } from '../../lambda/providers/paypack.ts';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';
import { OAuth2Sandbox, type OAuth2SandboxOptions } from '../sandboxes/oauth2-sandbox.ts';
import { PapayaSandbox, type PapayaSandboxOptions } from '../sandboxes/papaya-sandbox.ts';
import { PaypackSandbox, type PaypackSandboxOptions } from '../sandboxes/paypack-sandbox.ts';
import { type AwsClients, awsClients, putSecret } from './aws.ts';
import { AwsFaultInjector } from './aws-fault-injector.ts';
import { type OutputCapture, sharedCapture } from './capture.ts';
import { lambdaContext } from './lambda-context.ts';
import { type MotoServer, startMoto } from './moto.ts';
import { registerSensitiveSource } from './sensitive-values.ts';

export interface WorldOptions {
  paypack?: PaypackSandboxOptions;
  papaya?: PapayaSandboxOptions;
  oauth2?: OAuth2SandboxOptions;
}

/**
 * moto plus both provider sandboxes on loopback, real SDK clients, and a capture
 * of every console line, so a test file can run the real handlers end to end
 * and scan what they printed for anything sensitive.
 */
export class World {
  readonly capture: OutputCapture = sharedCapture();
  /** Credentials the tests created: scanned for leaks alongside every token the sandboxes issued. */
  readonly testSecrets: string[] = [];
  #counter = 0;

  private constructor(
    readonly moto: MotoServer,
    readonly aws: AwsClients,
    /** Faults for the SSM and Secrets Manager clients that moto cannot produce. */
    readonly awsFaults: AwsFaultInjector,
    readonly paypack: PaypackSandbox,
    readonly paypackUrl: string,
    readonly papaya: PapayaSandbox,
    readonly papayaUrl: string,
    readonly oauth2: OAuth2Sandbox,
    readonly oauth2Url: string,
  ) {}

  static async start(options: WorldOptions = {}): Promise<World> {
    const moto = await startMoto();
    const paypack = new PaypackSandbox(options.paypack);
    const papaya = new PapayaSandbox(options.papaya);
    const oauth2 = new OAuth2Sandbox(options.oauth2);
    const [paypackUrl, papayaUrl, oauth2Url] = await Promise.all([
      paypack.start(),
      papaya.start(),
      oauth2.start(),
    ]);
    const faults = new AwsFaultInjector();
    const world = new World(
      moto,
      awsClients(moto.endpoint, faults),
      faults,
      paypack,
      paypackUrl,
      papaya,
      papayaUrl,
      oauth2,
      oauth2Url,
    );
    registerSensitiveSource(() => world.sensitiveValues());
    return world;
  }

  async stop(): Promise<void> {
    this.aws.ssm.destroy();
    this.aws.secretsManager.destroy();
    this.aws.dynamodb.destroy();
    await Promise.all([this.paypack.stop(), this.papaya.stop(), this.oauth2.stop(), this.moto.stop()]);
  }

  uniqueId(prefix: string): string {
    this.#counter += 1;
    return `${prefix}-${this.#counter}`;
  }

  /** A Paypack application registered with the sandbox, its credentials in Secrets Manager, and its source definition. */
  async paypackSource(overrides: Partial<SourceDefinition> = {}): Promise<SourceDefinition & { id: string }> {
    const id = overrides.id ?? this.uniqueId('paypack');
    const clientId = randomUUID();
    const clientSecret = `pp-secret-${randomUUID()}`;
    this.paypack.addApplication(clientId, clientSecret);
    return this.#source(
      id,
      { client_id: clientId, client_secret: clientSecret },
      {
        provider: 'paypack',
        baseUrl: this.paypackUrl,
        privateParameterName: `/token-refresher/private/paypack/${id}/refresh-token`,
        ...overrides,
      },
    );
  }

  /** A Papaya API key registered with the sandbox, its credentials in Secrets Manager, and its source definition. */
  async papayaSource(overrides: Partial<SourceDefinition> = {}): Promise<SourceDefinition & { id: string }> {
    const id = overrides.id ?? this.uniqueId('papaya');
    const apiKey = randomUUID();
    const clientSecret = `pg-secret-${randomUUID()}`;
    this.papaya.addApiKey(apiKey, clientSecret);
    return this.#source(
      id,
      { api_key: apiKey, client_secret: clientSecret },
      {
        provider: 'papaya',
        baseUrl: this.papayaUrl,
        ...overrides,
      },
    );
  }

  /** An oauth2 client registered with the OAuth 2.0 sandbox (5-minute opaque tokens by default). */
  async oauth2Source(overrides: Partial<SourceDefinition> = {}): Promise<SourceDefinition & { id: string }> {
    const id = overrides.id ?? this.uniqueId('oauth2');
    const clientId = `client-${randomUUID()}`;
    const clientSecret = `oa-secret-${randomUUID()}`;
    this.oauth2.addClient(clientId, clientSecret);
    return this.#source(
      id,
      { client_id: clientId, client_secret: clientSecret },
      {
        provider: 'oauth2',
        baseUrl: this.oauth2Url,
        options: { tokenUrl: '/oauth/token', expectedLifetimeSeconds: 300 },
        ...overrides,
      },
    );
  }

  /**
   * Rotates a source's client secret as an operator would: the provider accepts
   * only the new one from now on, and the new value is put into the source's secret.
   */
  async rotateClientSecret(source: SourceDefinition): Promise<void> {
    const { SecretString } = await this.aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: source.secretId }),
    );
    const credentials = JSON.parse(SecretString ?? '{}') as Record<string, string>;
    const rotated = `rotated-secret-${randomUUID()}`;
    if (source.provider === 'paypack') this.paypack.addApplication(credentials.client_id ?? '', rotated);
    else if (source.provider === 'oauth2') this.oauth2.addClient(credentials.client_id ?? '', rotated);
    else this.papaya.addApiKey(credentials.api_key ?? '', rotated);
    this.testSecrets.push(rotated);
    await putSecret(
      this.aws.secretsManager,
      source.secretId,
      JSON.stringify({ ...credentials, client_secret: rotated }),
    );
  }

  async #source(
    id: string,
    credentials: Record<string, string>,
    definition: Partial<SourceDefinition> & { provider: string; baseUrl: string },
  ): Promise<SourceDefinition & { id: string }> {
    this.testSecrets.push(...Object.values(credentials));
    const secretId = `token-refresher/${id}`;
    await putSecret(this.aws.secretsManager, secretId, JSON.stringify(credentials));
    return {
      id,
      secretId,
      parameterName: `/token-refresher/tokens/${definition.provider}/${id}`,
      ...definition,
    };
  }

  /** The real handler factory with both providers, wired to moto. */
  handler(options: Partial<RefreshHandlerOptions> = {}) {
    return createRefreshHandler({
      providers: [new PaypackProvider(), new PapayaProvider(), new OAuth2Provider()],
      env: {},
      ssm: this.aws.ssm,
      secretsManager: this.aws.secretsManager,
      dynamodb: this.aws.dynamodb,
      ...options,
    });
  }

  /** One forced run for `source` through the real handler: its outcome, whether the run succeeded or failed. */
  async forcedOutcome(
    source: SourceDefinition,
    options: Partial<RefreshHandlerOptions> = {},
  ): Promise<SourceOutcome | undefined> {
    try {
      return (await this.handler(options)({ sources: [source], force: true }, lambdaContext(30_000)))
        .outcomes[0];
    } catch (error) {
      return (error as { outcomes?: SourceOutcome[] }).outcomes?.[0];
    }
  }

  sensitiveValues(): string[] {
    return [
      ...this.testSecrets,
      ...this.paypack.issued,
      ...this.papaya.issued.map((issued) => issued.token),
      ...this.oauth2.issued.map((issued) => issued.token),
    ];
  }
}
