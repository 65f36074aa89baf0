/** Where each source's parameters live under a deployment's prefix; no dependencies, the construct's types use it. */
export function tokenParameterName(prefix: string, provider: string, sourceId: string): string {
  return `${prefix}/tokens/${provider}/${sourceId}`;
}

export function privateStateParameterName(prefix: string, provider: string, sourceId: string): string {
  return `${prefix}/private/${provider}/${sourceId}/refresh-token`;
}
