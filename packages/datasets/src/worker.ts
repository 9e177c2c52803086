import { parentPort } from 'node:worker_threads';
import { runTask, type WorkerTask, type WorkerReply } from './worker-tasks';

// The entry point of the package's worker threads (see spawn-worker.ts).
parentPort?.on('message', (task: WorkerTask) => {
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const done = runTask(task);
    reply = { result: done.result };
    transfer = done.transfer;
  } catch (err) {
    reply = { error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply, transfer);
});
