/** One problem in a blueprint, located in its file. */
export interface BlueprintProblem {
  file: string;
  line: number;
  col: number;
  /** Field path such as `agents.triage.tools[1]`; empty for syntax errors. */
  path: string;
  message: string;
}

/** A blueprint that cannot run: every problem found, each with its location and the fix. */
export class BlueprintError extends Error {
  override readonly name = 'BlueprintError';

  constructor(readonly problems: BlueprintProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

/** `FILE:LINE:COL path: message`, the format editors and CI annotate. */
export function formatProblem(p: BlueprintProblem): string {
  return `${p.file}:${p.line}:${p.col} ${p.path ? `${p.path}: ` : ''}${p.message}`;
}
