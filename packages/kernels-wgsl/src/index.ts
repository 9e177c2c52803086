/**
 * @webgrad/kernels-wgsl: pure generators from kernel parameters to WGSL source, workgroup
 * size, dispatch size and uniform data. No GPU objects here; a backend compiles each
 * distinct `key` once and binds buffers in the documented order.
 */
export * from './kernel';
export * from './strides';
export * from './expr-wgsl';
export * from './elementwise';
export * from './reduce';
export * from './copy';
export * from './pad';
export * from './gather';
export * from './pack';
export * from './plan';
export * from './epilogue';
export * from './gemm-registers';
export * from './gemm-tiled';
export * from './matmul';
export * from './conv-geometry';
export * from './conv-pad';
export * from './conv-registers';
export * from './conv-tiled';
export * from './conv-direct';
export * from './im2col';
export * from './pool';
export * from './softmax';
export * from './update';
export * from './cross-entropy';
export * from './batch-norm';
