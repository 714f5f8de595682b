/** The CLI's own failure: its message is the one line the user sees after `baton: `. */
export class GoalCommandError extends Error {
  override readonly name = 'GoalCommandError';

  /**
   * @param message what went wrong and how to fix it, in one line
   * @param code the machine-readable kind, shown under `--json` (`{"code", "message"}`)
   */
  constructor(
    message: string,
    readonly code: ErrorCode = 'failed',
  ) {
    super(message);
  }
}

/** The codes `--json` errors carry (docs/cli.md lists them). */
export type ErrorCode =
  | 'failed'
  | 'usage'
  | 'bad_input'
  | 'invalid_blueprint'
  | 'config'
  | 'unreachable'
  | 'not_found'
  | 'exists'
  | 'finished'
  | 'refused'
  | 'port_in_use'
  | 'internal';
