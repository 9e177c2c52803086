import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from './spawn-worker';
import type { WorkerReply, WorkerTask } from './worker-tasks';

interface Job {
  task: WorkerTask;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Worker threads to use by default: one per core. */
export const defaultWorkers = () => Math.max(1, availableParallelism());

/**
 * A fixed set of worker threads running tasks in order of submission. Idle workers are
 * unref'd so that an unused pool never keeps the process alive.
 */
export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private closed = false;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.idle.push(this.start());
  }

  private start(): Worker {
    const w = spawnWorker();
    w.on('message', (reply: WorkerReply) => this.finish(w, reply));
    w.on('error', (err) => this.fail(w, err));
    w.unref();
    return w;
  }

  private finish(w: Worker, reply: WorkerReply): void {
    const job = this.running.get(w);
    this.running.delete(w);
    if (job) {
      if ('error' in reply) job.reject(new Error(reply.error));
      else job.resolve(reply.result);
    }
    this.idle.push(w);
    this.pump();
  }

  private fail(w: Worker, err: Error): void {
    const job = this.running.get(w);
    this.running.delete(w);
    const at = this.idle.indexOf(w);
    if (at >= 0) this.idle.splice(at, 1);
    if (!job) {
      // A worker that dies with no task failed to start: every worker would, so give up.
      void this.close(new Error(`WorkerPool: a worker thread failed to start: ${err.message}`));
      return;
    }
    job.reject(err);
    // A worker that crashed on a task is replaced so that one bad task does not shrink the pool.
    if (!this.closed) {
      this.idle.push(this.start());
      this.pump();
    }
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(w, job);
      w.ref();
      w.postMessage(job.task);
    }
    for (const w of this.idle) w.unref();
  }

  /** Runs one task on the next free worker. */
  run<T>(task: WorkerTask): Promise<T> {
    if (this.closed) return Promise.reject(new Error('WorkerPool: the pool is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ task, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Stops every worker; pending tasks fail (with `reason` when given). */
  async close(reason?: Error): Promise<void> {
    this.closed = true;
    const why = (what: string) => reason ?? new Error(`WorkerPool: closed ${what}`);
    for (const job of this.queue.splice(0)) job.reject(why('before the task ran'));
    const all = [...this.idle, ...this.running.keys()];
    for (const job of this.running.values()) job.reject(why('while the task ran'));
    this.idle.length = 0;
    this.running.clear();
    await Promise.all(all.map((w) => w.terminate()));
  }
}
