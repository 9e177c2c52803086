/** torch.optim's counterpart: `new nn.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 })`. */
export { Optimizer } from './optimizer';
export { SGD } from './sgd';
export { Adam, AdamW } from './adam';
export { LRScheduler, StepLR, CosineAnnealingLR } from './schedulers';
export { clipGradNorm } from './clip';
