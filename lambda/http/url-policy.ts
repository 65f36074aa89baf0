const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Provider credentials only travel over HTTPS; plain HTTP is accepted for
 * loopback hosts so tests and local mode can use the sandboxes.
 * Returns a reason when the URL is not acceptable.
 */
export function baseUrlProblem(raw: string): string | undefined {
  // Checked on the raw text: the URL parser drops an empty "?" or "#" and turns a non-ASCII host into punycode.
  if (/[?#]/.test(raw)) return 'must not have a query or fragment';
  if (/[^\x21-\x7e]/.test(raw)) return 'must be printable ASCII (a non-ASCII host can impersonate another)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.username || url.password) return 'must not embed credentials';
  if (url.search || url.hash) return 'must not have a query or fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined;
  return `must use https (plain http is allowed only for loopback hosts), got ${url.protocol}//${url.hostname}`;
}

/** Joins a base URL that may carry a path prefix (".../api") with an endpoint path. */
export function joinUrl(base: string, path: string): URL {
  const prefix = base.endsWith('/') ? base.slice(0, -1) : base;
  return new URL(prefix + (path.startsWith('/') ? path : `/${path}`));
}
