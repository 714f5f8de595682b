/** Baton's search attributes (DESIGN §2.1): the keys, defined once for the workflow, the CLI and `baton dev`. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const BatonGoal = defineSearchAttributeKey('BatonGoal', SearchAttributeType.KEYWORD);
export const BatonStatus = defineSearchAttributeKey('BatonStatus', SearchAttributeType.KEYWORD);
export const BatonApprovers = defineSearchAttributeKey('BatonApprovers', SearchAttributeType.KEYWORD_LIST);
export const BatonCostUsd = defineSearchAttributeKey('BatonCostUsd', SearchAttributeType.DOUBLE);

/** Every key, for registration on a server. */
export const batonSearchAttributes = [BatonGoal, BatonStatus, BatonApprovers, BatonCostUsd];
