import { channelsOf, loadImageInto, type ImageShape } from './load-image';

/** Decode `paths` into `pixels` at slots first, first+1, …; the slots of bad files stay zero. */
export interface DecodeTask {
  kind: 'decode';
  paths: string[];
  first: number;
  shape: ImageShape;
  pixels: Uint8Array;
}

export interface DecodeFailure {
  index: number;
  reason: string;
}

export function runDecodeTask(task: DecodeTask): DecodeFailure[] {
  const size = channelsOf(task.shape.colour) * task.shape.height * task.shape.width;
  const failures: DecodeFailure[] = [];
  task.paths.forEach((path, i) => {
    const index = task.first + i;
    try {
      loadImageInto(path, task.shape, task.pixels.subarray(index * size, (index + 1) * size));
    } catch (err) {
      failures.push({ index, reason: err instanceof Error ? err.message : String(err) });
    }
  });
  return failures;
}
