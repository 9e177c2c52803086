/**
 * The cpu backend's thread pool: the threads option and WEBGRAD_THREADS, a pool that lets
 * the process exit, and useDevice('auto') choosing cpu over a software WebGPU adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as wg from '@webgrad/tensor';
import { defaultThreads, wasmRuntime } from '../src/backends/cpu/wasm/runtime';

const rt = wasmRuntime();
afterAll(() => rt?.setThreads(defaultThreads()));

describe.skipIf(!rt)('cpu threads', () => {
  it("useDevice('cpu', { threads }) sets the pool size and the description says it", async () => {
    const one = await wg.useDevice('cpu', { threads: 1 });
    expect(wg.cpuThreads()).toBe(1);
    expect(one.description).toMatch(/WebAssembly SIMD.*1 thread\b/);
    const three = await wg.useDevice('cpu', { threads: 3 });
    expect(wg.cpuThreads()).toBe(3);
    expect(three.description).toMatch(/3 threads/);
    // the result of a product does not depend on it
    const a = wg.randn([70, 90]), b = wg.randn([90, 200]);
    const c3 = await a.matmul(b).data();
    await wg.useDevice('cpu', { threads: 1 });
    expect(Array.from(await a.matmul(b).data())).toEqual(Array.from(c3));
  });

  it('rejects a thread count that is not a positive integer', async () => {
    await expect(wg.useDevice('cpu', { threads: 0 })).rejects.toThrow(/positive integer, got 0/);
    await expect(wg.useDevice('cpu', { threads: 1.5 })).rejects.toThrow(/positive integer, got 1.5/);
  });

  it('WEBGRAD_THREADS overrides the core count, and a bad value is an error naming it', () => {
    const saved = process.env.WEBGRAD_THREADS;
    try {
      process.env.WEBGRAD_THREADS = '3';
      expect(defaultThreads()).toBe(3);
      process.env.WEBGRAD_THREADS = 'many';
      expect(() => defaultThreads()).toThrow(/WEBGRAD_THREADS must be a positive integer, got 'many'/);
    } finally {
      if (saved === undefined) delete process.env.WEBGRAD_THREADS;
      else process.env.WEBGRAD_THREADS = saved;
    }
  });

  it('a process that used the pool exits by itself', () => {
    const script = fileURLToPath(new URL('./helpers/pool-exit.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, WEBGRAD_THREADS: '3' },
      timeout: 60_000,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('3 threads, c[0] = 256');
  });
});

describe('useDevice auto', () => {
  it('picks cpu over a software WebGPU adapter and says why, a hardware one over cpu', async () => {
    let software: boolean | null = null; // null: no adapter
    try {
      await wg.useDevice('webgpu');
      software = (wg.getBackend('webgpu') as unknown as { software: boolean }).software;
    } catch {
      software = null;
    }
    try {
      const info = await wg.useDevice('auto');
      if (software === true && rt) {
        expect(info.device).toBe('cpu');
        expect(info.fallbackReason).toMatch(/the only WebGPU adapter is a software one \(.+\); the cpu backend's WebAssembly SIMD kernels are faster/);
        expect(info.description).toMatch(/^cpu \(WebAssembly SIMD/);
        expect(wg.getDefaultDevice()).toBe('cpu');
      } else if (software === false) {
        expect(info.device).toBe('webgpu');
      } else {
        expect(info.device).toBe('cpu');
        expect(info.fallbackReason).toBeTruthy();
      }
    } finally {
      wg.setDefaultDevice('cpu');
      await wg.releaseWebGPU();
    }
  });
});
