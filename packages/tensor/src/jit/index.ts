export { jit, type JitOptions, type JitStats, type Jitted } from './jit';
export { JitTraceError } from './trace';
export { replayed, isTracing } from './state';
