/**
 * Runs fn and puts the file's path into its error: a decoder only sees bytes, so its
 * "truncated JPEG" would otherwise not say which of a thousand files is broken.
 */
export function naming<T>(op: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(reason.includes(path) ? `${op}: ${reason}` : `${op}: ${path}: ${reason}`, { cause: err });
  }
}
