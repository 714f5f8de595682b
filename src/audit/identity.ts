/**
 * Who made a human act, as the audit reports it. On goals with verified identity the workflow records its verdict
 * on every vote and answer (a `decision` fact, src/workflows/facts.ts): the audit names the subject the signed
 * assertion proved, its issuer, key id and assertion id, and keeps the raw assertion so it can be checked again
 * offline. A name the sender typed is only ever a claim, and the client identity Temporal stores with a signal or
 * update is whatever the sending client declared: both are labelled so, never reported as who decided.
 */
import type { DecisionFact } from '../workflows/facts.js';

/** The label on Temporal's client identity: the sender chose it, nothing checked it. */
export const CLIENT_DECLARED = 'client-declared: Temporal records what the sending client said it was';

/** The identity part of a decision or reply record. */
export interface ActIdentity {
  /** `user:SUBJECT` for a verified act, `unverified:NAME` otherwise. */
  actor: string;
  /** The name to show in the record's summary. */
  who: string;
  /** The workflow's verdict, when it recorded one. */
  outcome?: 'accepted' | 'refused';
  refusal?: string;
  data: Record<string, unknown>;
}

/** Reads who made an act from the workflow's verdict (if any), the claimed name, the assertion and the client. */
export function actIdentity(
  verdict: DecisionFact | undefined,
  claimed: unknown,
  assertion: unknown,
  client: unknown,
): ActIdentity {
  const name = typeof claimed === 'string' && claimed !== '' ? claimed : '(no name given)';
  const common = {
    claimedBy: typeof claimed === 'string' ? claimed : null,
    assertion: typeof assertion === 'string' ? assertion : null,
    clientIdentity: typeof client === 'string' ? client : null,
    clientIdentityIs: CLIENT_DECLARED,
  };
  if (verdict?.outcome === 'accepted' && verdict.verified) {
    const v = verdict.verified;
    return {
      actor: `user:${v.subject}`,
      who: v.subject,
      outcome: 'accepted',
      data: { ...common, verification: { status: 'verified', ...v } },
    };
  }
  if (verdict?.outcome === 'refused') {
    return {
      actor: `unverified:${name}`,
      who: name,
      outcome: 'refused',
      refusal: verdict.reason ?? 'refused',
      data: {
        ...common,
        verification: { status: 'refused', reason: verdict.reason ?? null, code: verdict.code ?? null },
      },
    };
  }
  return {
    actor: `unverified:${name}`,
    who: name,
    ...(verdict ? { outcome: verdict.outcome } : {}),
    data: {
      ...common,
      verification: {
        status: 'unverified',
        why: verdict
          ? 'the workflow accepted it by name'
          : 'the goal records no verdict on it (recorded before verified identity, or still in progress): the name is a claim',
      },
    },
  };
}
