import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  privateStateParameterName,
  resolveSources,
  tokenParameterName,
} from '../../lambda/config/source-config.ts';
import { ConfigError } from '../../lambda/errors.ts';
import { PapayaProvider } from '../../lambda/providers/papaya.ts';
import { PaypackProvider } from '../../lambda/providers/paypack.ts';
import type { AnyTokenProvider } from '../../lambda/providers/provider.ts';

const providers = new Map<string, AnyTokenProvider>([
  ['paypack', new PaypackProvider()],
  ['papaya', new PapayaProvider()],
]);

const paypack = {
  id: 'cash-in',
  provider: 'paypack',
  baseUrl: 'https://payments.paypack.rw/api',
  secretId: 'token-refresher/cash-in',
  parameterName: '/token-refresher/tokens/paypack/cash-in',
  privateParameterName: '/token-refresher/private/paypack/cash-in/refresh-token',
};

const papaya = {
  id: 'payroll',
  provider: 'papaya',
  baseUrl: 'https://papaya.example/api',
  secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:papaya-AbCdEf',
  parameterName: '/token-refresher/tokens/papaya/payroll',
};

function configError(sources: unknown): string {
  try {
    resolveSources(sources, providers, 'REFRESHER_SOURCES');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'CONFIG_INVALID');
    return error.message;
  }
  return assert.fail('expected a ConfigError');
}

describe('source configuration', () => {
  it('fills provider defaults', () => {
    const [cashIn, payroll] = resolveSources([paypack, papaya], providers, 'REFRESHER_SOURCES');
    assert.equal(cashIn?.refreshThresholdSeconds, 600);
    assert.equal(payroll?.refreshThresholdSeconds, 43_200);
    assert.deepEqual(payroll?.options, { expirationSeconds: 86_400 });
    assert.equal(cashIn?.http.timeoutMs, 5000);
  });

  it('derives the Papaya threshold from a configured expiration', () => {
    const [payroll] = resolveSources([{ ...papaya, options: { expirationSeconds: 3600 } }], providers, 'x');
    assert.equal(payroll?.refreshThresholdSeconds, 1800);
  });

  const bad: [string, unknown, string][] = [
    ['not an array', { ...paypack }, 'REFRESHER_SOURCES must be a JSON array of sources'],
    ['empty', [], 'REFRESHER_SOURCES lists no sources'],
    ['missing id', [{ ...paypack, id: undefined }], 'source "REFRESHER_SOURCES[0]": field "id" is required'],
    [
      'bad id',
      [{ ...paypack, id: 'has spaces' }],
      'source "REFRESHER_SOURCES[0]": field "id" must be 1-64 letters, digits, "_", "." or "-", starting alphanumeric',
    ],
    [
      'missing provider',
      [{ ...paypack, provider: undefined }],
      'source "cash-in": field "provider" is required',
    ],
    [
      'unknown provider',
      [{ ...paypack, provider: 'mpesa' }],
      'source "cash-in": field "provider": "mpesa" is not served here (expected one of: paypack, papaya)',
    ],
    ['missing baseUrl', [{ ...papaya, baseUrl: undefined }], 'source "payroll": field "baseUrl" is required'],
    [
      'http baseUrl',
      [{ ...papaya, baseUrl: 'http://papaya.example' }],
      'source "payroll": field "baseUrl" must use https (plain http is allowed only for loopback hosts), got http://papaya.example',
    ],
    [
      'relative baseUrl',
      [{ ...papaya, baseUrl: '/api' }],
      'source "payroll": field "baseUrl" is not an absolute URL',
    ],
    [
      'missing secretId',
      [{ ...papaya, secretId: undefined }],
      'source "payroll": field "secretId" is required',
    ],
    [
      'blank secretId',
      [{ ...papaya, secretId: '  ' }],
      'source "payroll": field "secretId" must name a Secrets Manager secret (name or ARN)',
    ],
    [
      'missing parameterName',
      [{ ...papaya, parameterName: undefined }],
      'source "payroll": field "parameterName" is required',
    ],
    [
      'relative parameterName',
      [{ ...papaya, parameterName: 'tokens/payroll' }],
      'source "payroll": field "parameterName" must be an absolute SSM parameter path such as /token-refresher/tokens/my-source',
    ],
    [
      'missing private path',
      [{ ...paypack, privateParameterName: undefined }],
      'source "cash-in": field "privateParameterName" is required for paypack (it holds the refresh token, away from consumers)',
    ],
    [
      'private path equals public',
      [{ ...paypack, privateParameterName: paypack.parameterName }],
      'source "cash-in": field "privateParameterName" must differ from "parameterName"',
    ],
    [
      'threshold not a number',
      [{ ...paypack, refreshThresholdSeconds: '600' }],
      'source "cash-in": field "refreshThresholdSeconds" expected number',
    ],
    [
      'threshold over TTL',
      [{ ...paypack, refreshThresholdSeconds: 900 }],
      'source "cash-in": field "refreshThresholdSeconds" (900) must be below the paypack token lifetime of 900 s',
    ],
    [
      'threshold too small',
      [{ ...paypack, refreshThresholdSeconds: 5 }],
      'source "cash-in": field "refreshThresholdSeconds" expected >=60',
    ],
    [
      'unknown field',
      [{ ...papaya, parameter: '/x' }],
      'source "payroll": field "parameter" is not a known field',
    ],
    [
      'bad Papaya option',
      [{ ...papaya, options: { expirationSeconds: 10 } }],
      'source "payroll": field "options.expirationSeconds" expected >=300',
    ],
    [
      'unknown Paypack option',
      [{ ...paypack, options: { expirationSeconds: 900 } }],
      'source "cash-in": field "options.expirationSeconds" is not a known field',
    ],
    [
      'bad http option',
      [{ ...papaya, http: { maxAttempts: 0 } }],
      'source "payroll": field "http.maxAttempts" expected >=1',
    ],
    [
      'duplicate id',
      [papaya, papaya],
      'source "payroll": REFRESHER_SOURCES lists this source id more than once',
    ],
  ];

  for (const [name, sources, message] of bad) {
    it(`rejects ${name} with a message naming the field`, () => {
      assert.equal(configError(sources), message);
    });
  }
});

describe('the parameter layout a deployment pins (REFRESHER_PARAMETER_PREFIX)', () => {
  const policy = { parameterPrefix: '/tr' };
  const pinned = {
    ...paypack,
    parameterName: '/tr/tokens/paypack/cash-in',
    privateParameterName: '/tr/private/paypack/cash-in/refresh-token',
  };
  const rejection = (source: unknown) => {
    try {
      resolveSources([source], providers, 'REFRESHER_SOURCES', policy);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
    return assert.fail('expected a ConfigError');
  };

  it('accepts <prefix>/tokens/<provider>/<id> and <prefix>/private/<provider>/<id>/refresh-token', () => {
    const [source] = resolveSources([pinned], providers, 'REFRESHER_SOURCES', policy);
    assert.equal(source?.parameterName, '/tr/tokens/paypack/cash-in');
    assert.equal(
      tokenParameterName('/tr', 'papaya', 'payroll'),
      '/tr/tokens/papaya/payroll',
      'the construct builds the same names',
    );
    assert.equal(
      privateStateParameterName('/tr', 'paypack', 'cash-in'),
      '/tr/private/paypack/cash-in/refresh-token',
    );
  });

  it('rejects the former layout, and paths of another provider', () => {
    assert.equal(
      rejection({ ...pinned, parameterName: '/tr/tokens/cash-in' }),
      'source "cash-in": field "parameterName" must be "/tr/tokens/paypack/cash-in" in this deployment',
    );
    assert.equal(
      rejection({ ...pinned, privateParameterName: '/tr/private/cash-in/refresh-token' }),
      'source "cash-in": field "privateParameterName" must be "/tr/private/paypack/cash-in/refresh-token" in this deployment',
    );
    assert.equal(
      rejection({ ...papaya, parameterName: '/tr/tokens/paypack/payroll' }),
      'source "payroll": field "parameterName" must be "/tr/tokens/papaya/payroll" in this deployment',
    );
  });
});
