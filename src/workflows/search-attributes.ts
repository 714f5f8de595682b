/** Baton's search attributes (DESIGN §2.1): the keys, defined once for the workflow, the CLI and `baton dev`. */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

export const BatonGoal = defineSearchAttributeKey('BatonGoal', SearchAttributeType.KEYWORD);
export const BatonStatus = defineSearchAttributeKey('BatonStatus', SearchAttributeType.KEYWORD);
export const BatonApprovers = defineSearchAttributeKey('BatonApprovers', SearchAttributeType.KEYWORD_LIST);
export const BatonCostUsd = defineSearchAttributeKey('BatonCostUsd', SearchAttributeType.DOUBLE);

/** Every key, for registration on a server. */
export const batonSearchAttributes = [BatonGoal, BatonStatus, BatonApprovers, BatonCostUsd];

/**
 * The search attributes a goal starts with (`baton start`, the gateway): the values its first task would publish, so
 * it is found by them from the moment it starts and that task writes none (Patch.startSearchAttributes).
 */
export function startSearchAttributes(goal: string): SearchAttributePair[] {
  return [
    { key: BatonGoal, value: goal },
    { key: BatonStatus, value: 'running' },
    { key: BatonApprovers, value: [] },
    { key: BatonCostUsd, value: 0 },
  ];
}
