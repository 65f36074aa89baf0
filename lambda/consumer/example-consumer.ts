import { getToken } from '../../packages/client/src/get-token.ts';

const parameterName = requiredEnv('TOKEN_PARAMETER_NAME');
const probeUrl = requiredEnv('PROVIDER_PROBE_URL');

/**
 * A consumer as other teams write one: take the token, call the provider, and
 * on a 401 re-read the parameter once (the refresher may have just rotated it).
 */
export async function handler(): Promise<{ status: number; retriedAfter401: boolean }> {
  let { token } = await getToken(parameterName);
  let response = await fetch(probeUrl, { headers: { Authorization: `Bearer ${token}` } });
  let retriedAfter401 = false;
  if (response.status === 401) {
    ({ token } = await getToken(parameterName, { forceRefresh: true }));
    response = await fetch(probeUrl, { headers: { Authorization: `Bearer ${token}` } });
    retriedAfter401 = true;
  }
  return { status: response.status, retriedAfter401 };
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}
