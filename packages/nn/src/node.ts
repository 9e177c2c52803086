/**
 * @webgrad/nn for Node (the package's "node" condition, or '@webgrad/nn/node'): everything
 * the browser entry has, plus safetensors files, checkpoints on disk and fit's terminal
 * progress bar.
 */
import { readFile } from 'node:fs/promises';
import { saveCheckpoint } from './checkpoint/checkpoint';
import { writeFileAtomic } from './checkpoint/file';
import { nodeOnly } from './platform';
import { cliProgressBar } from './train/progress-bar';

nodeOnly.progressBar = cliProgressBar;
nodeOnly.saveCheckpoint = saveCheckpoint;
nodeOnly.writeFile = writeFileAtomic;
nodeOnly.readFile = async (path) => {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new Error(`${path}: cannot be read: ${(err as Error).message}`, { cause: err });
  }
};

export * from './index';
export { saveSafetensors, loadSafetensors, SafetensorsFileError, writeFileAtomic } from './checkpoint/file';
export { saveCheckpoint, loadCheckpoint, CheckpointError, type RunIdentity, type CheckpointContent, type LoadCheckpointOptions, type LoadedCheckpoint } from './checkpoint/checkpoint';
