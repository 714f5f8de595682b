/**
 * How commands reach Temporal. The Temporal client, the worker and the dev server load native code and take a
 * while: `--help`, `validate` and `schema` do without them, and each command loads only what it uses.
 */
import type { Client } from '@temporalio/client';
import type { BatonConfig } from '../../config.js';

/** The client helpers, loaded on first use. */
export const goals = () => import('../goals.js');

/** A client for the configured server (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE). */
export async function connect(config: BatonConfig): Promise<Client> {
  return (await goals()).connectClient(config);
}
