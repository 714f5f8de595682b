/** The arguments failure shared by tool runners: one message naming each field that does not match. */
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';

/** A non-retryable failure the model can fix: its arguments do not match the tool's schema. */
export function invalidArguments(tool: string, error: z.ZodError): ApplicationFailure {
  const details = error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
  return ApplicationFailure.create({
    type: 'InvalidToolArguments',
    nonRetryable: true,
    message: `arguments for ${tool} do not match its schema: ${details}`,
  });
}
