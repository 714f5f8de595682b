/**
 * What the operator trusts, as workflows see it: issuers and their public keys (rotated by key id, revocable), the
 * mapping from identity-provider groups to Baton groups, and the registered blueprints. Workers load it from their
 * own configuration (src/trust/) and hand it to workflows through a recorded local activity; it is never read from
 * a start payload, a signal or an update.
 */

/** One public key of an issuer. Times are ISO 8601. */
export interface TrustedKey {
  kid: string;
  /** Ed25519 public key, 32 bytes base64url. */
  publicKey: string;
  /** Assertions issued before this are refused (a key not yet in service). */
  notBefore?: string;
  /** Assertions issued after this are refused (a key rotated out); older ones stay valid until they expire. */
  notAfter?: string;
  /** A revoked key verifies nothing, whenever it signed. */
  revoked?: boolean;
}

/** A gateway whose signatures the workers accept. */
export interface TrustedIssuer {
  issuer: string;
  keys: TrustedKey[];
}

/** A blueprint the operator registered: only these run (unless ad hoc blueprints are allowed, as under `baton dev`). */
export interface RegisteredBlueprint {
  name: string;
  version: string;
  /** sha256 of the normalized blueprint (`hashBlueprint`). */
  sha256: string;
}

/** The operator's trust, as one JSON value a workflow can hold and replay. */
export interface TrustSnapshot {
  /** The audience assertions must name. */
  audience: string;
  issuers: TrustedIssuer[];
  /** Identity-provider group to the Baton groups it grants. Groups not listed grant nothing. */
  groups: Record<string, string[]>;
  blueprints: RegisteredBlueprint[];
  /** True only where the operator said so (`baton dev`): blueprints that are not registered may run, flagged. */
  allowAdHocBlueprints: boolean;
  /** Clock skew tolerated between the gateway and workflow time, in seconds. */
  clockSkewSeconds: number;
  /** The longest lifetime (exp - iat) an assertion may have, in seconds. */
  maxLifetimeSeconds: number;
  /**
   * How old (workflow time) the trust a goal holds may be when a signed act is judged before the goal reads it
   * again: how long a revocation may take to reach a waiting goal. 0: read before every act.
   */
  refreshSeconds: number;
}

/** Defaults for the tolerances. */
export const TRUST_DEFAULTS = { clockSkewSeconds: 60, maxLifetimeSeconds: 3600, refreshSeconds: 60 } as const;

/** A snapshot that trusts nobody: every decision is refused until the operator configures an issuer. */
export function emptyTrust(): TrustSnapshot {
  return {
    audience: 'baton',
    issuers: [],
    groups: {},
    blueprints: [],
    allowAdHocBlueprints: false,
    ...TRUST_DEFAULTS,
  };
}

/** The Baton groups identity-provider groups grant under a snapshot, sorted and without duplicates. */
export function batonGroups(trust: Pick<TrustSnapshot, 'groups'>, idpGroups: readonly string[]): string[] {
  const out = new Set<string>();
  for (const g of idpGroups) for (const b of trust.groups[g] ?? []) out.add(b);
  return [...out].sort();
}

/** The registered entry with this hash, if any. */
export function registeredBlueprint(trust: TrustSnapshot, sha256: string): RegisteredBlueprint | undefined {
  return trust.blueprints.find((b) => b.sha256 === sha256);
}
