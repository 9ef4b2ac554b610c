// Decides whether an interop suite runs. Locally a missing peer skips the suite with one loud
// line, so contributors without the peer installed can still run `vitest`; on CI (CI=true) a
// missing peer is an error, because a silently skipped interop suite would look like a pass.
// How to install the peer is provider-specific, so each provider's unavailableReason() says it
// (c-dqlite: "apt-get update && apt-get install -y go-dqlite").

import type { ClusterProvider } from './cluster-provider.js';

/** Use as `describe.skipIf(!requirePeer(provider))(...)`. */
export function requirePeer(provider: ClusterProvider): boolean {
  const reason = provider.unavailableReason();
  if (reason === null) return true;
  if (process.env.CI === 'true')
    throw new Error(`interop peer ${provider.name} is required on CI (CI=true) but ${reason}`);
  console.error(`SKIPPING interop suite against ${provider.name}: ${reason}`);
  return false;
}
