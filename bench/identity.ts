/**
 * The benchmark's identity setup, as an operator deploys Baton (DESIGN §2.1): a gateway key the bench workers trust
 * (a trust file), the bench blueprints registered by hash (a registry directory, as `baton register` writes it), and
 * starts and decisions signed for a person, as `baton serve` signs them. So every Baton figure includes what verified
 * identity costs: the trust read at a goal's start, the start's and each decision's Ed25519 verification.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AssertionSigner } from '../src/gateway/signer.js';
import { approvalRequestHash, generateSigningKey, startRequestHash } from '../src/identity/assertion.js';
import type { ApprovalDecision } from '../src/workflows/definitions.js';
import { BENCH_APPROVER, type BenchAgent } from './agent.js';

const ISSUER = 'https://bench.baton.invalid';
const KID = 'bench-1';
const VERSION = '1';
/** Who starts every benchmark goal: not the approver, so separation of duties holds as it would in production. */
export const BENCH_STARTER = 'bench-starter';

/** Where a worker reads the operator's trust: `BATON_TRUST_FILE` and `BATON_BLUEPRINTS`. */
export interface TrustFiles {
  trustFile: string;
  blueprintsDir: string;
}

/** The bench's gateway key, trust file and blueprint registry, in the run's scratch directory. */
export class BenchIdentity {
  readonly files: TrustFiles;
  private readonly signer: AssertionSigner;
  private readonly registered = new Map<string, { name: string; version: string; file: string; sha256: string }>();

  constructor(scratch: string) {
    const key = generateSigningKey();
    this.signer = new AssertionSigner({
      issuer: ISSUER,
      key: { kid: KID, privateKey: key.privateKey },
      ttlSeconds: 600,
    });
    const dir = join(scratch, 'trust');
    this.files = { trustFile: join(dir, 'trust.yaml'), blueprintsDir: join(dir, 'blueprints') };
    mkdirSync(this.files.blueprintsDir, { recursive: true });
    writeFileSync(
      this.files.trustFile,
      stringify({ issuers: [{ issuer: ISSUER, keys: [{ kid: KID, publicKey: key.publicKey }] }], groups: {} }),
    );
    this.writeRegistry();
  }

  /** Registers the agent's blueprint (once), as `baton register` does; running workers pick the change up. */
  register(agent: BenchAgent): void {
    const { blueprint, hash } = agent.loaded;
    if (this.registered.get(blueprint.name)?.sha256 === hash) return;
    const file = `${blueprint.name}.yaml`;
    writeFileSync(join(this.files.blueprintsDir, file), agent.yaml);
    this.registered.set(blueprint.name, { name: blueprint.name, version: VERSION, file, sha256: hash });
    this.writeRegistry();
  }

  private writeRegistry(): void {
    writeFileSync(
      join(this.files.blueprintsDir, 'registry.yaml'),
      stringify({ blueprints: [...this.registered.values()] }),
    );
  }

  /** The start assertion of a goal of `agent` with `input`, signed for {@link BENCH_STARTER}. */
  signStart(goalId: string, agent: BenchAgent, input: unknown): string {
    const { blueprint, hash } = agent.loaded;
    return this.signer.sign(person(BENCH_STARTER), {
      kind: 'start',
      goal: goalId,
      run: '',
      target: `${blueprint.name}@${VERSION}`,
      request: startRequestHash({ blueprintHash: hash, input }),
    }).assertion;
  }

  /** The approver's signed approval of the agent's guarded step (`apr-1`), as the gateway sends it. */
  approval(goalId: string, firstRunId: string, agent: BenchAgent): ApprovalDecision {
    const request = approvalRequestHash({ tool: 'guarded_step', args: { n: agent.guardedAt } });
    const { assertion } = this.signer.sign(person(BENCH_APPROVER), {
      kind: 'decision',
      goal: goalId,
      run: firstRunId,
      target: 'apr-1',
      request,
      decision: 'approve',
    });
    return { approvalId: 'apr-1', decision: 'approve', by: BENCH_APPROVER, assertion };
  }
}

function person(subject: string) {
  return { subject, name: subject, idpGroups: [] };
}
