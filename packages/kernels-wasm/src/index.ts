export * from './emitter';
export { layout, type Layout } from './layout';
export { gemmFunctions, gemmParams, MR, NR, KC, MC, NC, PACK_A_BYTES, PACK_B_BYTES, TILE_BYTES } from './gemm';
export { convFunctions, convParams, CONV_GEO } from './conv';
export { kernelModule, kernelFunctions, relaxedProbe, simdSupport, WASM_PAGE, MAX_PAGES, type ModuleOptions } from './module';
export { batchNormFunctions, batchNormParams } from './batch-norm';
export { poolFunctions, maxPoolParams } from './pool';
export { renderSimd, simdRenderable, expSimd, logSimd, type SimdCode } from './expr-wasm';
export { elementwiseModule, whereModule, elementwiseParams, DIM_RECORD, type ElementwiseModuleOptions } from './elementwise';
