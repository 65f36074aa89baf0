/**
 * REFRESHER_PINNED_PROFILES: the distinct profiles, and which one each source id
 * has. Without `bySource` there is one profile and every source has it (a fleet's
 * prefix rule, whose sources the environment cannot list).
 */
export interface PinnedProfiles {
  profiles: readonly Record<string, unknown>[];
  bySource?: Readonly<Record<string, number>>;
}

/** The profile pinned for a source id, or undefined when the deployment pins none for it. */
export function pinnedProfileOf(
  pinned: PinnedProfiles,
  sourceId: string,
): Record<string, unknown> | undefined {
  if (!pinned.bySource) return pinned.profiles.length === 1 ? pinned.profiles[0] : undefined;
  const index = Object.hasOwn(pinned.bySource, sourceId) ? pinned.bySource[sourceId] : undefined;
  return index === undefined ? undefined : pinned.profiles[index];
}

/** The parts of a definition a deployment pins as a whole (REFRESHER_PINNED_PROFILES). */
export function sourceProfile(definition: {
  refreshThresholdSeconds?: unknown;
  options?: unknown;
  http?: unknown;
  probe?: unknown;
}): string {
  const { refreshThresholdSeconds, options, http, probe } = definition;
  return canonicalJson({ refreshThresholdSeconds, options, http, probe });
}

/** JSON with object keys sorted and undefined members left out, so equal profiles compare equal. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
