/**
 * How detc was invoked cannot work: a bad option value, an input path that is missing or not a
 * file, an output folder that cannot be written or is another run's. The CLI prints the message
 * and exits 2. It lives here, not in the CLI, because the runtime's own checks (the run folder)
 * raise it too.
 */
export class UsageError extends Error {}
