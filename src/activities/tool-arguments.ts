/** The arguments failure shared by tool runners: one message naming each field that does not match. */
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { formatIssues } from '../text.js';

/** A non-retryable failure the model can fix: its arguments do not match the tool's schema. */
export function invalidArguments(tool: string, error: z.ZodError): ApplicationFailure {
  const details = formatIssues(error.issues);
  return ApplicationFailure.create({
    type: 'InvalidToolArguments',
    nonRetryable: true,
    message: `arguments for ${tool} do not match its schema: ${details}`,
  });
}
