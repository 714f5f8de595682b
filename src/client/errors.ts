/** The CLI's own failure: its message is the one line the user sees after `baton: `. */
export class GoalCommandError extends Error {
  override readonly name = 'GoalCommandError';
}
