/**
 * @webgrad/kernels-ir: what webgrad's kernels compute, independent of what runs them. The
 * elementwise expression language (rendered to WGSL by kernels-wgsl, to WebAssembly by
 * kernels-wasm, to JavaScript here), the parameter type of each kernel family, and the shape
 * and convolution geometry they all share. No code generation for a device lives here
 * except the JavaScript rendering, which needs nothing but the language.
 */
export * as expr from './expr';
export type { ElementwiseKernelOp, Expr, ExprKind, IntRule, MathFunction, ArithOp, CompareOp, LogicOp, Operand } from './expr';
export { renderJs, unaryLoopSource, binaryLoopSource, fusedLoopSource, updateLoopSource, channelMapSource, usesIntMath } from './expr-js';
export { MAX_UPDATE_ARRAYS, updateOp, writtenArrays, type UpdateOp } from './update';
export { MAX_FUSED_ARITY, fusedOp, inlineOp, substituteArgs, exprKey, children, type FusedElementwiseOp } from './fused';
export { matmulAxes, convAxes, broadcastPattern, checkProductEpilogue, collapseTo3, type Axes3, type ProductEpilogue } from './epilogue';
export { batchNormApply, batchNormGrad, type ChannelMap } from './batch-norm';
export * from './params';
export * from './shape';
export * from './geometry';
