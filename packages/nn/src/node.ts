/**
 * @webgrad/nn for Node (the package's "node" condition, or '@webgrad/nn/node'): everything
 * the browser entry has, plus safetensors files, checkpoints on disk and fit's terminal
 * progress bar.
 */
import { saveCheckpoint } from './checkpoint/checkpoint';
import { nodeOnly } from './platform';
import { cliProgressBar } from './train/progress-bar';

nodeOnly.progressBar = cliProgressBar;
nodeOnly.saveCheckpoint = saveCheckpoint;

export * from './index';
export { saveSafetensors, loadSafetensors, writeFileAtomic } from './checkpoint/file';
export { saveCheckpoint, loadCheckpoint, type CheckpointContent, type LoadCheckpointOptions, type LoadedCheckpoint } from './checkpoint/checkpoint';
