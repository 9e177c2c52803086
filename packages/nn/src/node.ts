/**
 * @webgrad/nn for Node (the package's "node" condition, or '@webgrad/nn/node'): everything
 * the browser entry has, plus safetensors files, checkpoints on disk and fit's terminal
 * progress bar.
 */
import { setProgressBar } from './train/progress';
import { cliProgressBar } from './train/progress-bar';

setProgressBar(cliProgressBar);

export * from './index';
export { saveSafetensors, loadSafetensors, writeFileAtomic } from './checkpoint/file';
export { saveCheckpoint, loadCheckpoint, type CheckpointContent, type LoadCheckpointOptions, type LoadedCheckpoint } from './checkpoint/checkpoint';
