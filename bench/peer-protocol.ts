/**
 * What the driver and the peer process (bench/peer/agent.ts) exchange. Kept outside bench/peer/ so Baton's type
 * check never needs the peer's packages.
 */

/** What the driver asks of the peer (JSON in the BENCH_PEER variable). */
export interface PeerSpec {
  modelBaseURL: string;
  /** The tool server `guarded_step` calls, as Baton's HTTP tool does. */
  toolURL: string;
  goal: string;
  agent: string;
  model: string;
  temperature: number;
  /** The opening messages, the same Baton's goal loop sends. */
  messages: { role: 'system' | 'user'; content: string }[];
  tools: { name: string; description: string; parameters: Record<string, unknown> }[];
  steps: number;
  agents: number;
  warmup: number;
  /** SQLite file of the checkpointer, or :memory:. */
  dbPath: string;
}

/** What the peer prints, as one line of JSON. */
export interface PeerResult {
  versions: Record<string, string>;
  /** Per agent: time it was running (start → interrupted, resume → done), ms. */
  busyMs: number[];
  /** Per agent `peer-agent-<i>`: when the resume command was sent (wall clock, ms), matched with the tool call. */
  resumeSentAt: number[];
  /** CPU time (user + system) the peer process spent on the measured agents, ms. */
  cpuMs: number;
}
