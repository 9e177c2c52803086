import type { SkippedFile } from './image-set';

export interface BadFilePolicy {
  /** Throw on the first bad file instead of skipping it. Default false. */
  strict?: boolean;
  /** Where the one line per skipped file goes. Default: console.warn. */
  onWarning?: (line: string) => void;
}

/** Applies the bad-file policy: with `strict`, an Error naming the first file; otherwise one warning line per file. */
export function reportSkipped(what: string, skipped: readonly SkippedFile[], policy: BadFilePolicy): void {
  if (!skipped.length) return;
  if (policy.strict) throw new Error(`${what}: cannot use ${skipped[0].path}: ${skipped[0].reason}`);
  const warn = policy.onWarning ?? console.warn;
  for (const s of skipped) warn(`${what}: skipped ${s.path}: ${s.reason}`);
}
