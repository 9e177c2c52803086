import { registerBackend } from './engine';
import { cpuBackend } from './backends/cpu/index';

registerBackend(cpuBackend);

export type { Backend, DType, Shape, Storage, TypedArray, ConvParams, PoolParams, BatchNormParams, PadMode, SgdParams, AdamParams } from './backend';
export { Tensor, isTensor, type NestedArray } from './tensor';
export type { GradNode, OpAttrs } from './autograd';
export { noGrad, withGrad, isGradEnabled, tidy, keep, memoryStats, getDefaultDevice, setDefaultDevice, getBackend, registerBackend, type MemoryStats } from './engine';
export { useDevice, releaseWebGPU, type DeviceInfo, type DeviceRequest, type DeviceOptions, type AdapterOption } from './device';
export { cpuThreads, cpuReferenceBackend } from './backends/cpu/index';
export { manualSeed, getRngState, setRngState } from './random';
export { DeviceLimitError, type DeviceLimits } from './limits';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck';
export { sizeOf, broadcastShapes } from './shape';
export { TensorDataset, isDataset, collate, sharedValues, type Dataset, type Sample } from './data';
export { setPrintOptions, type PrintOptions } from './format';
export { convOutputLength, poolOutputLength, checkPads } from './shape-rules';
export { cpuBackend };

export * from './ops/creation';
export * from './ops/elementwise';
export { sum, mean, max, min, argmax, argmin, variance, sumTo, type Dims } from './ops/reduce';
export * from './ops/shape';
export { pad } from './ops/pad';
export { expand } from './ops/broadcast';
export * from './ops/linalg';
export * from './ops/conv';
export * from './ops/pool';
export * from './ops/softmax';
export * from './ops/loss';
export * from './ops/norm';
export * from './ops/optim';
