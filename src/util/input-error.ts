/**
 * The base of every error the CLI reports as a message with exit 1, never a stack trace: a user's
 * inputs that are wrong (a dataset, a checkpoint, a results file) or a run that cannot go on
 * (a diverging loss, a write that failed).
 */
export class InputError extends Error {}
