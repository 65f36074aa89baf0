import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import { truncateToMinute } from '../sandboxes/papaya-sandbox.ts';
import type { Fault } from '../sandboxes/sandbox-server.ts';
import type { AwsFault } from '../support/aws-fault-injector.ts';
import { regionFaults } from './cases-regions.ts';
import { trustFaults } from './cases-trust.ts';
import type { RegionFault } from './region-faults.ts';

export type FaultGroup =
  | 'provider'
  | 'secrets manager'
  | 'ssm'
  | 'configuration'
  | 'crash and time budget'
  | 'regions';

/** How the refresher handled the fault, as observed from the outside. */
export type Behaviour =
  | 'retried, then failed'
  | 'failed fast'
  | 'fell back to the docs path'
  | 'fell back to authorize'
  | 'retried, then succeeded'
  | 'rejected at start'
  | 'failed within the time budget'
  | 'authorized; the spent token was not presented again'
  | 'stopped when the lease was lost'
  | 'published at home; the replica reported behind'
  | 'finished; the failover waited for it';

export type FaultSetup =
  | { target: 'provider'; route: string; fault: Fault }
  | { target: 'unreachable provider' }
  | { target: 'aws'; operation: string; fault: AwsFault }
  | { target: 'secret value'; value: string }
  | { target: 'missing secret' }
  | { target: 'configuration'; change: (source: SourceDefinition) => unknown; raw?: string }
  /** The previous run was SIGKILLed after the provider spent its refresh token, before it stored anything. */
  | { target: 'crash after the refresh token was spent' }
  /** An AWS endpoint that accepts connections and never answers; the run has `budgetMs` left. */
  | { target: 'stalled aws'; service: 'ssm' | 'secretsManager' | 'dynamodb'; budgetMs: number }
  /** Another run takes the lease over right after this run wrote its write-ahead marker. */
  | { target: 'lease taken over after the marker' }
  /** SSM writes paced at `perSecond` with `budgetMs` left: too little time for every write. */
  | { target: 'paced writes'; perSecond: number; budgetMs: number }
  /** A replica region (eu-west-1) that fails, or a failover started while the run is in flight. */
  | { target: 'region'; fault: RegionFault };

export interface FaultCase {
  group: FaultGroup;
  name: string;
  provider: 'paypack' | 'papaya' | 'oauth2';
  setup: FaultSetup;
  expected: {
    behaviour: Behaviour;
    /** Error code of the failed outcome; undefined when the refresh succeeds anyway. */
    code?: string;
    message?: RegExp;
    /** Calls each provider route must have received (routes not named are not checked). */
    calls?: Record<string, number>;
  };
}

const now = () => Math.floor(Date.now() / 1000);
const fakeJwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

const http = (
  status: number,
  body: unknown = { status, message: `error ${status}` },
  headers?: Record<string, string>,
): Fault => ({
  kind: 'status',
  status,
  body,
  ...(headers ? { headers } : {}),
});

/** Faults at an HTTP endpoint that both providers share, run against both. */
function httpFaults(provider: 'paypack' | 'papaya' | 'oauth2'): FaultCase[] {
  const route = provider === 'paypack' ? 'authorize' : 'token';
  const label = `${provider} ${route}`;
  const row = (name: string, fault: Fault, expected: FaultCase['expected']): FaultCase => ({
    group: 'provider',
    name: `${label}: ${name}`,
    provider,
    setup: { target: 'provider', route, fault },
    expected,
  });
  return [
    row('HTTP 400', http(400), {
      behaviour: 'failed fast',
      code: 'PROVIDER_CLIENT_ERROR',
      message: /answered HTTP 400/,
    }),
    row('HTTP 401', http(401), {
      behaviour: 'failed fast',
      code: 'PROVIDER_AUTH_REJECTED',
      message: /answered HTTP 401/,
    }),
    row('HTTP 403', http(403), {
      behaviour: 'failed fast',
      code: 'PROVIDER_AUTH_REJECTED',
      message: /answered HTTP 403/,
    }),
    row('HTTP 429 without Retry-After', http(429), {
      behaviour: 'retried, then failed',
      code: 'PROVIDER_RATE_LIMITED',
      message: /HTTP 429.* after 3 attempts/,
    }),
    row('HTTP 429 with Retry-After: 1', http(429, undefined, { 'Retry-After': '1' }), {
      behaviour: 'retried, then failed',
      code: 'PROVIDER_RATE_LIMITED',
      message: /HTTP 429.* after 3 attempts/,
    }),
    row('HTTP 500', http(500), {
      behaviour: 'retried, then failed',
      code: 'PROVIDER_SERVER_ERROR',
      message: /HTTP 500.* after 3 attempts/,
    }),
    row(
      'HTTP 502 (HTML page)',
      { kind: 'html', status: 502 },
      {
        behaviour: 'retried, then failed',
        code: 'PROVIDER_SERVER_ERROR',
        message: /HTTP 502 after 3 attempts/,
      },
    ),
    row('HTTP 503', http(503), {
      behaviour: 'retried, then failed',
      code: 'PROVIDER_SERVER_ERROR',
      message: /HTTP 503.* after 3 attempts/,
    }),
    row('HTTP 504', http(504), {
      behaviour: 'retried, then failed',
      code: 'PROVIDER_SERVER_ERROR',
      message: /HTTP 504.* after 3 attempts/,
    }),
    row(
      'connection reset mid-body',
      { kind: 'reset-mid-body' },
      {
        behaviour: 'retried, then failed',
        code: 'PROVIDER_UNREACHABLE',
        message: /network error \(\w+\) after 3 attempts/,
      },
    ),
    row(
      'connection dropped',
      { kind: 'drop' },
      { behaviour: 'retried, then failed', code: 'PROVIDER_UNREACHABLE', message: /network error/ },
    ),
    row(
      'hang past the timeout',
      { kind: 'hang' },
      {
        behaviour: 'retried, then failed',
        code: 'PROVIDER_TIMEOUT',
        message: /no complete answer within 1000 ms after 3 attempts/,
      },
    ),
    row(
      'slow drip',
      { kind: 'drip', intervalMs: 50 },
      {
        behaviour: 'retried, then failed',
        code: 'PROVIDER_TIMEOUT',
        message: /no complete answer within 1000 ms/,
      },
    ),
    row(
      'HTTP 302 redirect',
      http(302, { status: 302, message: 'moved' }, { Location: 'http://elsewhere.example/collect' }),
      {
        behaviour: 'failed fast',
        code: 'PROVIDER_BAD_RESPONSE',
        message: /answered HTTP 302 \(a redirect, refused\)$/,
      },
    ),
    row(
      'malformed JSON',
      { kind: 'malformed' },
      { behaviour: 'failed fast', code: 'PROVIDER_BAD_RESPONSE', message: /not valid JSON/ },
    ),
    row(
      'HTML error page with 200',
      { kind: 'html' },
      { behaviour: 'failed fast', code: 'PROVIDER_BAD_RESPONSE', message: /HTML page instead of JSON/ },
    ),
    row(
      'empty body',
      { kind: 'empty' },
      { behaviour: 'failed fast', code: 'PROVIDER_BAD_RESPONSE', message: /empty body/ },
    ),
    row(
      'oversized body',
      { kind: 'oversized', bytes: 200_000 },
      { behaviour: 'failed fast', code: 'PROVIDER_BAD_RESPONSE', message: /exceeds 65536 bytes/ },
    ),
    row(
      '200 with missing fields',
      {
        kind: 'body',
        body: provider === 'paypack' ? { access: fakeJwt({ exp: now() + 900 }) } : { token_name: 'x' },
      },
      {
        behaviour: 'failed fast',
        code: 'PROVIDER_BAD_RESPONSE',
        message:
          provider === 'paypack'
            ? /field "refresh" is required; field "expires" is required/
            : /field "token" is required; field "valid_until" is required/,
      },
    ),
    row(
      '200 with wrong field types',
      {
        kind: 'body',
        body:
          provider === 'paypack'
            ? { access: 42, refresh: [], expires: 'soon' }
            : { token: 42, valid_until: true },
      },
      {
        behaviour: 'failed fast',
        code: 'PROVIDER_BAD_RESPONSE',
        message: /field "(access|token)" must be a string/,
      },
    ),
    row(
      'expiry in the past',
      {
        kind: 'body',
        body:
          provider === 'paypack'
            ? { access: fakeJwt({ exp: now() - 60 }), refresh: 'r-0000001', expires: now() - 60 }
            : {
                token: fakeJwt({ exp: now() - 60 }),
                valid_until: truncateToMinute((now() - 120) * 1000),
              },
      },
      { behaviour: 'failed fast', code: 'PROVIDER_INVALID_TOKEN', message: /in the past/ },
    ),
    row(
      'expiry absurdly far',
      {
        kind: 'body',
        body:
          provider === 'paypack'
            ? {
                access: fakeJwt({ exp: now() + 10 * 365 * 86_400 }),
                refresh: 'r-0000001',
                expires: now() + 10 * 365 * 86_400,
              }
            : { token: fakeJwt({ exp: now() + 10 * 365 * 86_400 }), valid_until: '2099-01-01T00:00Z' },
      },
      { behaviour: 'failed fast', code: 'PROVIDER_INVALID_TOKEN', message: /implausibly far/ },
    ),
    row(
      'token that is not a JWT',
      {
        kind: 'body',
        body:
          provider === 'paypack'
            ? { access: 'opaque-access-token', refresh: 'r-0000001', expires: now() + 900 }
            : {
                token: 'opaque-access-token',
                valid_until: truncateToMinute((now() + 86_400) * 1000),
              },
      },
      { behaviour: 'failed fast', code: 'PROVIDER_INVALID_TOKEN', message: /not a JWT/ },
    ),
  ];
}

const paypackRefreshFaults: FaultCase[] = [
  {
    group: 'provider',
    name: 'paypack refresh: SDK path answers 404 without JSON (no such route; no path has served yet)',
    provider: 'paypack',
    setup: { target: 'provider', route: 'refresh-sdk', fault: { kind: 'html', status: 404 } },
    expected: {
      behaviour: 'fell back to the docs path',
      calls: { 'refresh-sdk': 1, 'refresh-docs': 1, authorize: 0 },
    },
  },
  {
    group: 'provider',
    name: 'paypack refresh: both paths answer 404 without JSON',
    provider: 'paypack',
    setup: { target: 'provider', route: 'refresh-*', fault: { kind: 'html', status: 404 } },
    expected: {
      behaviour: 'fell back to authorize',
      calls: { 'refresh-sdk': 1, 'refresh-docs': 1, authorize: 1 },
    },
  },
  {
    group: 'provider',
    name: 'paypack refresh: refresh token refused (401)',
    provider: 'paypack',
    setup: { target: 'provider', route: 'refresh-sdk', fault: http(401) },
    expected: {
      behaviour: 'fell back to authorize',
      calls: { 'refresh-sdk': 1, 'refresh-docs': 0, authorize: 1 },
    },
  },
  {
    group: 'provider',
    name: 'paypack refresh: 503 (never retried: the token may be spent)',
    provider: 'paypack',
    setup: { target: 'provider', route: 'refresh-sdk', fault: http(503) },
    expected: {
      behaviour: 'fell back to authorize',
      calls: { 'refresh-sdk': 1, 'refresh-docs': 0, authorize: 1 },
    },
  },
  {
    group: 'provider',
    name: 'paypack authorize: 503 twice, then recovers',
    provider: 'paypack',
    setup: { target: 'provider', route: 'authorize-2x', fault: http(503) },
    expected: { behaviour: 'retried, then succeeded', calls: { authorize: 3 } },
  },
];

const unreachable: FaultCase[] = (['paypack', 'papaya', 'oauth2'] as const).map((provider) => ({
  group: 'provider',
  name: `${provider}: connection refused`,
  provider,
  setup: { target: 'unreachable provider' },
  expected: {
    behaviour: 'retried, then failed',
    code: 'PROVIDER_UNREACHABLE',
    message: /network error \(ECONNREFUSED\) after 3 attempts/,
  },
}));

const secretFaults: FaultCase[] = [
  {
    group: 'secrets manager',
    name: 'secret does not exist',
    provider: 'paypack',
    setup: { target: 'missing secret' },
    expected: {
      behaviour: 'failed fast',
      code: 'SECRET_NOT_FOUND',
      message: /does not exist \(ResourceNotFoundException\)/,
    },
  },
  {
    group: 'secrets manager',
    name: 'secret value is not JSON',
    provider: 'papaya',
    setup: { target: 'secret value', value: 'api_key=abc;client_secret=def-123456' },
    expected: { behaviour: 'failed fast', code: 'SECRET_INVALID', message: /is not valid JSON/ },
  },
  {
    group: 'secrets manager',
    name: 'secret has the wrong keys',
    provider: 'paypack',
    setup: {
      target: 'secret value',
      value: JSON.stringify({ clientId: 'abc-123456', secret: 'def-123456' }),
    },
    expected: {
      behaviour: 'failed fast',
      code: 'SECRET_INVALID',
      message: /"client_id" is required; "client_secret" is required/,
    },
  },
  {
    group: 'secrets manager',
    name: 'access denied',
    provider: 'papaya',
    setup: {
      target: 'aws',
      operation: 'GetSecretValue',
      fault: {
        kind: 'error',
        status: 400,
        type: 'AccessDeniedException',
        message: 'User is not authorized to perform secretsmanager:GetSecretValue',
      },
    },
    expected: {
      behaviour: 'failed fast',
      code: 'SECRET_ACCESS_DENIED',
      message: /cannot be read \(AccessDeniedException\)/,
    },
  },
];

const ssmFaults: FaultCase[] = [
  {
    group: 'ssm',
    name: 'PutParameter: ThrottlingException',
    provider: 'papaya',
    setup: {
      target: 'aws',
      operation: 'PutParameter',
      fault: { kind: 'error', status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
    },
    expected: {
      behaviour: 'retried, then failed',
      code: 'STORE_FAILED',
      message: /could not write SSM parameter "[^"]+": ThrottlingException/,
    },
  },
  {
    group: 'ssm',
    name: 'PutParameter: TooManyUpdates',
    provider: 'papaya',
    setup: {
      target: 'aws',
      operation: 'PutParameter',
      fault: { kind: 'error', status: 400, type: 'TooManyUpdates', message: 'Too many updates' },
    },
    expected: { behaviour: 'failed fast', code: 'STORE_FAILED', message: /: TooManyUpdates$/ },
  },
  {
    group: 'ssm',
    name: 'PutParameter: access denied',
    provider: 'papaya',
    setup: {
      target: 'aws',
      operation: 'PutParameter',
      fault: { kind: 'error', status: 400, type: 'AccessDeniedException', message: 'not authorized' },
    },
    expected: { behaviour: 'failed fast', code: 'STORE_FAILED', message: /: AccessDeniedException$/ },
  },
  {
    group: 'ssm',
    name: 'GetParameter: network error',
    provider: 'papaya',
    setup: { target: 'aws', operation: 'GetParameter', fault: { kind: 'network', code: 'ECONNRESET' } },
    expected: {
      behaviour: 'retried, then failed',
      code: 'STORE_FAILED',
      message: /could not read SSM parameter/,
    },
  },
  {
    group: 'ssm',
    name: 'PutParameter: KMS key unusable (InvalidKeyId)',
    provider: 'papaya',
    setup: {
      target: 'aws',
      operation: 'PutParameter',
      fault: { kind: 'error', status: 400, type: 'InvalidKeyId', message: 'key is disabled' },
    },
    expected: { behaviour: 'failed fast', code: 'STORE_FAILED', message: /: InvalidKeyId$/ },
  },
];

const configRow = (
  name: string,
  provider: 'paypack' | 'papaya',
  change: (source: SourceDefinition) => unknown,
  message: RegExp,
  raw?: string,
): FaultCase => ({
  group: 'configuration',
  name,
  provider,
  setup: { target: 'configuration', change, ...(raw === undefined ? {} : { raw }) },
  expected: { behaviour: 'rejected at start', code: 'CONFIG_INVALID', message },
});
const without = (field: keyof SourceDefinition) => (source: SourceDefinition) => ({
  ...source,
  [field]: undefined,
});

const configFaults: FaultCase[] = [
  configRow(
    'REFRESHER_SOURCES is not JSON',
    'papaya',
    (source) => source,
    /REFRESHER_SOURCES is not valid JSON/,
    '[{"id":',
  ),
  configRow('id missing', 'papaya', without('id'), /field "id" is required/),
  configRow(
    'id malformed',
    'papaya',
    (source) => ({ ...source, id: 'not ok!' }),
    /field "id" must be 1-64 letters/,
  ),
  configRow('provider missing', 'papaya', without('provider'), /field "provider" is required/),
  configRow(
    'provider unknown',
    'papaya',
    (source) => ({ ...source, provider: 'mpesa' }),
    /"mpesa" is not served here/,
  ),
  configRow('baseUrl missing', 'papaya', without('baseUrl'), /field "baseUrl" is required/),
  configRow(
    'baseUrl plain http',
    'papaya',
    (source) => ({ ...source, baseUrl: 'http://papaya.example' }),
    /field "baseUrl" must use https/,
  ),
  configRow('secretId missing', 'papaya', without('secretId'), /field "secretId" is required/),
  configRow('parameterName missing', 'papaya', without('parameterName'), /field "parameterName" is required/),
  configRow(
    'parameterName malformed',
    'papaya',
    (source) => ({ ...source, parameterName: 'tokens/x' }),
    /field "parameterName" must be an absolute SSM parameter path/,
  ),
  configRow(
    'privateParameterName missing (paypack)',
    'paypack',
    without('privateParameterName'),
    /field "privateParameterName" is required for paypack/,
  ),
  configRow(
    'refreshThresholdSeconds malformed',
    'papaya',
    (source) => ({ ...source, refreshThresholdSeconds: -5 }),
    /field "refreshThresholdSeconds" expected >=60/,
  ),
  configRow(
    'options malformed',
    'papaya',
    (source) => ({ ...source, options: { expirationSeconds: 'day' } }),
    /field "options.expirationSeconds" expected number/,
  ),
];

/** The generic HTTP rows (bodies differ per provider), plus what RFC 6749 §5.1/5.2 adds. */
function oauth2Faults(): FaultCase[] {
  const generic = httpFaults('oauth2').filter(
    (row) => !/: (200 with|expiry |token that is not a JWT)/.test(row.name),
  );
  const row = (name: string, fault: Fault, expected: FaultCase['expected']): FaultCase => ({
    group: 'provider',
    name: `oauth2 token: ${name}`,
    provider: 'oauth2',
    setup: { target: 'provider', route: 'token', fault },
    expected,
  });
  const echo = 'client_secret=oa-secret-echoed was wrong';
  return [
    ...generic,
    row(
      '400 invalid_client, description echoing input',
      http(400, { error: 'invalid_client', error_description: echo }),
      {
        behaviour: 'failed fast',
        code: 'PROVIDER_AUTH_REJECTED',
        message: /HTTP 400 with error "invalid_client" \(client credentials refused\)$/,
      },
    ),
    row('400 invalid_scope', http(400, { error: 'invalid_scope' }), {
      behaviour: 'failed fast',
      code: 'PROVIDER_CLIENT_ERROR',
      message: /HTTP 400 with error "invalid_scope"$/,
    }),
    row('400 unregistered error code', http(400, { error: echo }), {
      behaviour: 'failed fast',
      code: 'PROVIDER_CLIENT_ERROR',
      message: /an unregistered error code$/,
    }),
    row(
      'token_type DPoP',
      { kind: 'body', body: { access_token: 'opaque-x', token_type: 'DPoP', expires_in: 300 } },
      {
        behaviour: 'failed fast',
        code: 'PROVIDER_BAD_RESPONSE',
        message: /token_type other than Bearer/,
      },
    ),
    row(
      'opaque token without expires_in',
      { kind: 'body', body: { access_token: 'opaque-x', token_type: 'Bearer' } },
      {
        behaviour: 'failed fast',
        code: 'PROVIDER_INVALID_TOKEN',
        message: /has no expiry/,
      },
    ),
    {
      group: 'provider',
      name: 'oauth2 token: 503 twice, then recovers',
      provider: 'oauth2',
      setup: { target: 'provider', route: 'token-2x', fault: http(503) },
      expected: { behaviour: 'retried, then succeeded', calls: { token: 3 } },
    },
  ];
}

/** The edges of the single-use and time-budget promises: a crash, a stalled AWS endpoint, starved pacing. */
const crashAndBudgetFaults: FaultCase[] = [
  {
    group: 'crash and time budget',
    name: 'previous run SIGKILLed after the provider spent its refresh token',
    provider: 'paypack',
    setup: { target: 'crash after the refresh token was spent' },
    expected: {
      behaviour: 'authorized; the spent token was not presented again',
      calls: { 'refresh-sdk': 0, authorize: 1 },
    },
  },
  ...(['paypack', 'papaya'] as const).map(
    (provider): FaultCase => ({
      group: 'crash and time budget',
      name: 'SSM endpoint accepts and never answers (8 s left)',
      provider,
      setup: { target: 'stalled aws', service: 'ssm', budgetMs: 8_000 },
      expected: {
        behaviour: 'failed within the time budget',
        code: 'STORE_FAILED',
        message: /could not read SSM parameter "[^"]+": TimeoutError/,
      },
    }),
  ),
  {
    group: 'crash and time budget',
    name: 'Secrets Manager endpoint accepts and never answers (3 s left)',
    provider: 'papaya',
    setup: { target: 'stalled aws', service: 'secretsManager', budgetMs: 3_000 },
    expected: {
      behaviour: 'failed within the time budget',
      code: 'SECRET_UNAVAILABLE',
      message: /could not be read before the run's time budget ran out/,
    },
  },
  {
    group: 'crash and time budget',
    name: 'SSM writes paced at one per 4 s with 8 s left (the token write has no turn)',
    provider: 'paypack',
    setup: { target: 'paced writes', perSecond: 0.25, budgetMs: 8_000 },
    expected: {
      behaviour: 'failed within the time budget',
      code: 'STORE_FAILED',
      message: /could not write SSM parameter "[^"]+" within the time budget: WritePacing/,
      calls: { 'refresh-sdk': 1 },
    },
  },
];

export const FAULT_CASES: FaultCase[] = [
  ...httpFaults('paypack'),
  ...httpFaults('papaya'),
  ...paypackRefreshFaults,
  ...oauth2Faults(),
  ...unreachable,
  ...secretFaults,
  ...ssmFaults,
  ...configFaults,
  ...crashAndBudgetFaults,
  ...trustFaults(),
  ...regionFaults(),
];
