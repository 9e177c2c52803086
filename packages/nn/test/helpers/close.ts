import { expect } from 'vitest';

/** Every element within atol + rtol·|expected|, naming the worst one. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what = 'values', rtol = 1e-5, atol = 1e-6): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(err <= excess)) [worst, excess] = [i, err];
  }
  expect(worst, worst < 0 ? '' : `${what}: element ${worst}: ${actual[worst]} vs ${expected[worst]}`).toBe(-1);
}
