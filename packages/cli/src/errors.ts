/** Exit codes every `gatehouse` command keeps to, so scripts can act on them. */
export const ExitCode = {
  Ok: 0,
  /** The command ran and the answer is "no": a URI refused, a mismatch, an error found by lint. */
  Failed: 1,
  /** The command was called wrongly: unknown option, missing argument, unreadable input file. */
  Usage: 2,
  /** `gatehouse plan`: the file and the server differ; `apply` would change something. */
  Changes: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake in how the command was called. Its message is one line, shown as is. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
