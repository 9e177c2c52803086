/**
 * Multi-pass operations (convolution through staged inputs, matmul with packed B) are
 * described as plans: temporaries to allocate, offset tables to upload (cacheable by key),
 * and kernels to run in order over named buffers. The backend executes a plan; the plan
 * itself is pure data, like a kernel.
 */
import type { Kernel } from './kernel';

export interface PlanStep {
  kernel: Kernel;
  /** Buffer names in binding order: inputs the caller supplies, temps or tables below. */
  buffers: string[];
}

export interface Plan {
  /** Scratch f32 buffers (element counts), freed after the plan runs. */
  temps: Record<string, number>;
  /** Read-only i32 tables; `key` identifies the contents, so a backend may keep them. */
  tables: Record<string, { key: string; build: () => Int32Array }>;
  steps: PlanStep[];
}
