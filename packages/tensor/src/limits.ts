/**
 * What a device can hold: a GPU refuses buffers above maxBufferSize and binds at most
 * maxStorageBufferBindingSize bytes to one kernel argument. A tensor may be larger than the
 * binding limit (the webgpu backend splits the ops that touch it into parts that bind
 * sub-ranges), but not larger than maxBufferSize: ops check before they allocate, so such a
 * tensor is a clear error (never a lost device). An op that cannot be split that far throws
 * DeviceLimitError too, and callers that can split their work (evaluation by batch) catch it.
 */
import type { DType } from './backend';
import { fmt, sizeOf } from './shape';

export interface DeviceLimits {
  /** The largest buffer (GPUDevice.limits.maxBufferSize). */
  maxBufferBytes: number;
  /** The largest buffer one kernel can read or write (maxStorageBufferBindingSize). */
  maxBindingBytes: number;
  /** Storage buffers one kernel may bind (maxStorageBuffersPerShaderStage); fused kernels that need more are not used. */
  maxStorageBuffers?: number;
}

export class DeviceLimitError extends Error {
  constructor(
    message: string,
    /** Bytes asked for. */
    readonly bytes: number,
    /** The limit exceeded, in bytes. */
    readonly limit: number,
    readonly limitName: 'maxBufferSize' | 'maxStorageBufferBindingSize',
  ) {
    super(message);
    this.name = 'DeviceLimitError';
  }
}

const BYTES: Record<DType, number> = { float32: 4, int32: 4, float64: 8 };

/** The limit a buffer of `bytes` exceeds, or null; bindings are split, so only maxBufferSize counts. */
function exceeded(bytes: number, limits: DeviceLimits): { name: DeviceLimitError['limitName']; limit: number } | null {
  if (bytes > limits.maxBufferBytes) return { name: 'maxBufferSize', limit: limits.maxBufferBytes };
  return null;
}

/** Throws when a tensor of this shape cannot live on the device: names the op, the shape, its size and the limit. */
export function checkTensorFits(op: string, device: string, limits: DeviceLimits | undefined, shape: readonly number[], dtype: DType): void {
  if (!limits) return;
  const bytes = sizeOf(shape) * BYTES[dtype];
  const over = exceeded(bytes, limits);
  if (!over) return;
  throw new DeviceLimitError(
    `${op}: a ${dtype} tensor of shape ${fmt(shape)} takes ${bytes} bytes, more than the ${device} device's ${over.name} (${over.limit} bytes); use smaller tensors (a smaller batch) or the cpu device`,
    bytes,
    over.limit,
    over.name,
  );
}

/** Throws when a device buffer of `bytes` cannot be made or bound; `what` names the op and the buffer. */
export function checkBufferFits(what: string, device: string, limits: DeviceLimits, bytes: number): void {
  const over = exceeded(bytes, limits);
  if (!over) return;
  throw new DeviceLimitError(
    `${device}: ${what} needs a buffer of ${bytes} bytes, more than this adapter's ${over.name} (${over.limit} bytes); split the work (a smaller batch), or use the cpu device`,
    bytes,
    over.limit,
    over.name,
  );
}

/** Throws when one kernel argument of `bytes` cannot be bound; `what` names the op, the kernel and the argument. */
export function checkBindingFits(what: string, device: string, limits: DeviceLimits, bytes: number): void {
  if (bytes <= limits.maxBindingBytes) return;
  throw new DeviceLimitError(
    `${device}: ${what} binds ${bytes} bytes to one kernel argument, more than this adapter's maxStorageBufferBindingSize (${limits.maxBindingBytes} bytes), and this op is not split that finely; split the work (a smaller batch), or use the cpu device`,
    bytes,
    limits.maxBindingBytes,
    'maxStorageBufferBindingSize',
  );
}
