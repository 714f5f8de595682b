/**
 * The recorder's operator and its people, under verified identity (DESIGN §2.1): a signing key made for the run, a
 * trust file on disk that trusts it, a registry that pins every blueprint the recorder runs by sha256, and people
 * who act through the gateway's own desk (src/gateway/desk.ts), which signs each start, vote and answer exactly as
 * `baton serve` does for a signed-in person. The worker reads that trust through the same loader `baton worker`
 * uses (src/trust/load.ts) with ad hoc blueprints off, so recorded histories take the path production goals take.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { parseBlueprint } from '../blueprint/load.js';
import { Desk } from '../gateway/desk.js';
import type { Person } from '../gateway/sessions.js';
import { AssertionSigner } from '../gateway/signer.js';
import { approvalRequestHash, generateSigningKey } from '../identity/assertion.js';
import { createTrustStore, type RegistryEntry, type TrustStore } from '../trust/load.js';
import type { ApprovalDecision, ApprovalRecord } from '../workflows/definitions.js';

/** The gateway the recorder's assertions name; not a real address (`.invalid`). */
export const RECORDER_ISSUER = 'https://record-histories.baton.invalid';
/** The key id of the run's signing key. */
export const RECORDER_KID = 'record-histories-1';

/** A blueprint the recorder registers: its text, where it came from, and the version it is registered as. */
export interface BlueprintToRegister {
  /** The recording it is for. */
  id: string;
  version: string;
  yaml: string;
  /** The file it was read from (for messages). */
  source: string;
}

/** What the recorder acts with. */
export interface RecorderIdentity {
  /** The operator's trust, for the worker (`createBatonWorker({ trust })`). */
  trust: TrustStore;
  /** Signs and delivers as the gateway does: starts, `decide` and `reply` updates. */
  desk: Desk;
  /** A person as the identity provider vouches for them: their groups are every approver group that lists them. */
  person(subject: string): Person;
  /** The registered blueprint of a recording. */
  registered(id: string): RegistryEntry;
  /** A signed vote for the `approval` signal, as a client of plain Temporal sends one; `forged`: signed with a key nobody trusts. */
  signedVote(
    who: Person,
    goal: { id: string; firstRunId: string },
    record: ApprovalRecord,
    decision: 'approve' | 'reject',
    forged?: boolean,
  ): ApprovalDecision;
}

/**
 * Writes the run's trust file and registry under `dir` and returns the trust store over them and the desk that acts
 * through `client`. Every Baton group the blueprints name is granted by the identity-provider group of that name.
 */
export function prepareRecorderIdentity(
  dir: string,
  blueprints: BlueprintToRegister[],
  client: Client,
  taskQueue: string,
): RecorderIdentity {
  const key = generateSigningKey();
  const registryDir = join(dir, 'registry');
  mkdirSync(registryDir, { recursive: true });
  const members = new Map<string, Set<string>>();
  const byId = new Map<string, { name: string; version: string }>();
  const entries = blueprints.map((b) => {
    const { blueprint, hash } = parseBlueprint(b.yaml, b.source);
    for (const [group, people] of Object.entries(blueprint.approvers)) {
      for (const p of people) members.set(p, (members.get(p) ?? new Set()).add(group));
    }
    const file = `${blueprint.name}@${b.version}.yaml`;
    byId.set(b.id, { name: blueprint.name, version: b.version });
    writeFileSync(join(registryDir, file), b.yaml);
    return { name: blueprint.name, version: b.version, file, sha256: hash };
  });
  writeFileSync(join(registryDir, 'registry.yaml'), stringify({ blueprints: entries }));
  const groups = [...new Set([...members.values()].flatMap((g) => [...g]))].sort();
  const trustFile = join(dir, 'trust.yaml');
  writeFileSync(
    trustFile,
    stringify({
      audience: 'baton',
      issuers: [{ issuer: RECORDER_ISSUER, keys: [{ kid: RECORDER_KID, publicKey: key.publicKey }] }],
      groups: Object.fromEntries(groups.map((g) => [g, [g]])),
    }),
  );
  const trust = createTrustStore({ trustFile, blueprintsDir: registryDir, allowAdHocBlueprints: false });
  const signer = new AssertionSigner({
    issuer: RECORDER_ISSUER,
    key: { kid: RECORDER_KID, privateKey: key.privateKey },
    ttlSeconds: 300,
  });
  // Same issuer and key id, another key: what a worker holding no private key could at best produce.
  const forger = new AssertionSigner({
    issuer: RECORDER_ISSUER,
    key: { kid: RECORDER_KID, privateKey: generateSigningKey().privateKey },
    ttlSeconds: 300,
  });
  return {
    trust,
    desk: new Desk(client, signer, () => trust.snapshot(), taskQueue),
    person: (subject) => ({ subject, name: subject, idpGroups: [...(members.get(subject) ?? [])].sort() }),
    registered(id) {
      const want = byId.get(id);
      const entry = trust.registry().find((e) => e.name === want?.name && e.version === want?.version);
      if (!entry) throw new Error(`record-histories: ${id} has no blueprint in the recorder's registry`);
      return entry;
    },
    signedVote(who, goal, record, decision, forged = false) {
      const { assertion } = (forged ? forger : signer).sign(who, {
        kind: 'decision',
        goal: goal.id,
        run: goal.firstRunId,
        target: record.id,
        request: approvalRequestHash(record),
        decision,
      });
      return { approvalId: record.id, decision, by: who.subject, assertion };
    },
  };
}
