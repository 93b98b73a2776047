/**
 * The base of every error about a user's inputs (a dataset, a checkpoint, a results file, a run
 * folder): the CLI prints its message and exits 1, never a stack trace.
 */
export class InputError extends Error {}
