import { runBatchTask, type BatchResult, type BatchTask } from './batch-task';
import { runDecodeTask, type DecodeFailure, type DecodeTask } from './decode-task';
import { runGatherTask, type GatherResult, type GatherTask } from './gather-task';

/** Everything a worker thread can be asked to do. */
export type WorkerTask = DecodeTask | BatchTask | GatherTask;

export type WorkerReply = { result: unknown } | { error: string };

/** Runs a task; returns its result and the buffers to hand back without copying. */
export function runTask(task: WorkerTask): { result: DecodeFailure[] | BatchResult | GatherResult; transfer: ArrayBuffer[] } {
  if (task.kind === 'decode') return { result: runDecodeTask(task), transfer: [] };
  if (task.kind === 'gather') {
    const result = runGatherTask(task);
    return { result, transfer: [result.x.buffer as ArrayBuffer, result.y.buffer as ArrayBuffer] };
  }
  const result = runBatchTask(task);
  const transfer = [result.x.buffer as ArrayBuffer];
  if (result.y) transfer.push(result.y.buffer as ArrayBuffer);
  return { result, transfer };
}
