/**
 * @webgrad/tensor for Node (the package's "node" condition, or '@webgrad/tensor/node'):
 * everything the browser entry has, plus WebGPU through Dawn (the `webgpu` package).
 */
import { installDawn } from './backends/webgpu/dawn';

installDawn();

export * from './index';
