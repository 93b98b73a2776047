/**
 * Loading a native library without letting it write to the user's terminal.
 *
 * TensorFlow's C library logs through absl while it loads (`WARNING: All log messages before
 * absl::InitializeLog() is called are written to STDERR`, then the oneDNN notice). absl reads no
 * environment variable, so TF_CPP_MIN_LOG_LEVEL cannot stop those two lines (it does stop the
 * rest), and turning oneDNN off to avoid its notice makes convolutions 2.5× slower. So while the
 * library loads, file descriptor 2 points at /dev/null, and afterwards at the user's stderr again.
 * Node has no dup(); reopening `/dev/fd/2` stands in for it (a terminal, a pipe or a file reopens;
 * a socket, which a Node parent's 'pipe' stdio is, cannot, and then the lines stay).
 */
import { closeSync, openSync } from "node:fs";

/** Runs `load` (synchronous, so nothing else can write meanwhile) with stderr sent to /dev/null. */
export function withStderrSilenced<T>(load: () => T): T {
  if (process.platform === "win32") return load();
  let saved: number;
  try {
    saved = openSync("/dev/fd/2", "a");
  } catch {
    return load();
  }
  // The swap relies on 2 being the lowest free descriptor once closed; with 0 or 1 closed it is not.
  if (saved < 3) {
    closeSync(saved);
    return load();
  }
  closeSync(2);
  const quiet = openSync("/dev/null", "a");
  try {
    return load();
  } finally {
    closeSync(quiet);
    openSync(`/dev/fd/${saved}`, "a"); // takes descriptor 2 again
    closeSync(saved);
  }
}
