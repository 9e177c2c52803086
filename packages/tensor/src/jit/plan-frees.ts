/**
 * The jit's buffer plan: every storage the replay makes and frees is freed right after the
 * last step that uses it, rather than where the eager run happened to let go of it.
 *
 * Eager frees follow the op layer's references: an intermediate of the forward lives until
 * the autograd record that saved it is released, or until fn's tidy scope ends, long after
 * its last reader. The trace knows every reader, so a replay can hand each storage back to
 * the backend's pool as soon as it is dead, and the pool gives it to the next allocation of
 * its size: buffers are reused by liveness, and a step's peak memory is its live set, not
 * the sum of what eager scoping kept. The pool (webgpu's BufferPool, the cpu's WASM arena)
 * does the reuse; this pass decides when.
 *
 * Safe because slots are single-assignment: a slot names one storage from the call that
 * makes it to its free, every step that reads or writes it names the slot, and the backends
 * order work on a freed-then-reused buffer after the work that read it (webgpu's queue runs
 * in order; the cpu runs synchronously).
 */
import { slotsOf } from './fuse';
import type { DisposeStep, Step } from './trace';

/** The slots a call step reads, writes in place or makes. */
function slotsUsed(step: Step): number[] {
  if (step.kind !== 'call') return [];
  const out: number[] = [];
  for (const a of step.args) slotsOf(a, out);
  if (step.result.kind === 'storage') out.push(step.result.slot);
  else if (step.result.kind === 'fields') for (const [, slot] of step.result.fields) out.push(slot);
  return out;
}

/** The steps with each free moved up to just after the last call that uses its slot. */
export function freeAtLastUse(steps: readonly Step[]): Step[] {
  const lastUse = new Map<number, number>();
  steps.forEach((s, i) => {
    for (const slot of slotsUsed(s)) lastUse.set(slot, i);
  });
  // Where each free goes (the index of the call it follows), then the steps in that order.
  const freesAfter = new Map<number, DisposeStep[]>();
  const stays = new Set<DisposeStep>();
  steps.forEach((s, i) => {
    if (s.kind !== 'dispose') return;
    const last = lastUse.get(s.slot);
    // A storage no call touches (an argument fn frees unread) keeps its place.
    if (last === undefined) stays.add(s);
    else if (last < i) {
      let list = freesAfter.get(last);
      if (!list) freesAfter.set(last, (list = []));
      list.push(s);
    } else throw new Error(`jit: slot ${s.slot} is used after its free at step ${i}; the trace is inconsistent`);
  });
  const out: Step[] = [];
  steps.forEach((s, i) => {
    if (s.kind === 'dispose') {
      if (stays.has(s)) out.push(s);
      return;
    }
    out.push(s);
    for (const d of freesAfter.get(i) ?? []) out.push(d);
  });
  return out;
}
