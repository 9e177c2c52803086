/**
 * What only Node can do, for the platform-neutral code that would use it: filled in by the
 * Node entry point (./node.ts). In a browser these stay undefined and their callers say so.
 */
import type { CheckpointContent } from './checkpoint/checkpoint';
import type { Progress } from './train/progress';

export const nodeOnly: {
  /** fit's bar on a terminal (cli-progress). */
  progressBar?: (log: (line: string) => void) => Promise<Progress>;
  /** fit's `checkpoint` option: a checkpoint file written atomically. */
  saveCheckpoint?: (path: string, content: CheckpointContent) => Promise<void>;
  /** exportOnnx's `path`: bytes written atomically. */
  writeFile?: (path: string, bytes: Uint8Array) => Promise<void>;
  /** importOnnx of a path; a missing or unreadable file is an error naming it. */
  readFile?: (path: string) => Promise<Uint8Array>;
} = {};
