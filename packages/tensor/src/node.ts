/**
 * @webgrad/tensor for Node (the package's "node" condition, or '@webgrad/tensor/node'):
 * everything the browser entry has, plus WebGPU through Dawn (the `webgpu` package) and the
 * cpu kernels' worker threads (worker_threads).
 */
import { installDawn } from './backends/webgpu/dawn';
import { installWasmNodeHost } from './backends/cpu/wasm/node-host';

installDawn();
installWasmNodeHost();

export * from './index';
