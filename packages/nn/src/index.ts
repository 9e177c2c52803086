/**
 * @webgrad/nn: modules, layers, initialisation, optimizers, models and training for
 * @webgrad/tensor, in torch.nn's shape. `import * as nn from '@webgrad/nn'`, then
 * `new nn.Conv2d(3, 16, 3)`, `nn.F.conv2d(...)`, `new nn.optim.Adam(model.parameters())`.
 * This entry is the browser's (and any platform's); Node resolves the package to ./node.ts.
 */
export { Module, type StateDict, type StateDictOptions, type LoadStateDictOptions, type LoadStateDictResult } from './module';
export { callable, type CallableModule } from './callable';
export { Parameter, isParameter, zerosParameter } from './parameter';
export { type ModelSummary, type SummaryRow, type SummaryOptions } from './summary';
export * as F from './functional';
export * as init from './init';

export { Conv1d, Conv2d, Conv3d, ConvNd, type ConvLayerOptions } from './layers/conv';
export { BatchNorm1d, BatchNorm2d, BatchNorm3d, BatchNormNd, type BatchNormOptions } from './layers/norm';
export { ReLU, LeakyReLU, Sigmoid, Tanh, SiLU, GELU, Softplus, ELU, Hardtanh, Softmax, LogSoftmax } from './layers/activation';
export {
  MaxPool1d, MaxPool2d, MaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d, AdaptiveAvgPool2d, Pool2d,
  type MaxPoolOptions, type AvgPoolOptions,
} from './layers/pooling';
export { Linear } from './layers/linear';
export { Dropout } from './layers/dropout';
export { Sequential, ModuleList, Identity, Flatten } from './layers/container';
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss } from './layers/loss';

export { simpleCnn, type SimpleCnnOptions, type ConvFactory } from './models/simple-cnn';
export { dilatedCnn, dilatedCnnSizes, type DilatedCnnOptions } from './models/dilated-cnn';
export { BasicBlock, ResNet, resnet18, plainNet18, dilatedResNet, type BasicBlockOptions, type ResNetOptions, type DilatedResNetOptions } from './models/resnet';
export { alexnet, type AlexNetOptions } from './models/alexnet';
export { mlp, type MlpOptions } from './models/mlp';
export { checkHDC, receptiveField, convOutputSize, type HdcVerdict, type HdcRule, type ReceptiveField, type ReceptiveLayer } from './hdc';

export * as optim from './optim/index';
export { Optimizer, type OptimizerStateDict, type ParamState } from './optim/optimizer';
export { SGD, type SgdOptions } from './optim/sgd';
export { Adam, AdamW, type AdamOptions } from './optim/adam';
export { LRScheduler, StepLR, CosineAnnealingLR, type SchedulerState, type StepLROptions, type CosineAnnealingLROptions } from './optim/schedulers';
export { clipGradNorm } from './optim/clip';

export { classify, classifyBatch, type Prediction, type ClassifyOptions, type Preprocess, type ImageInput } from './predict';
export { accuracy, confusionMatrix, psnr, ssim, type SsimOptions } from './metrics';

export { fit, type FitOptions, type Callbacks, type BatchInfo } from './train/fit';
export { TrainingDivergedError, type NonFinitePolicy } from './train/divergence';
export { evaluate, type EvaluateOptions, type EvaluateResult } from './train/evaluate';
export { forwardInBatches } from './train/split';
export type { Batch, BatchLike, BatchSource, TrainingData } from './train/data';
export { TensorDataset, type Dataset, type Sample } from '@webgrad/tensor';
export type { History, EpochRecord } from './train/history';
export type { ProgressMode } from './train/progress';
export { trainStep, type LossFn, type TrainStepOptions } from './train/step';

export { encodeSafetensors, decodeSafetensors, type RawTensor, type SafetensorsContent } from './checkpoint/safetensors';
export {
  safetensorsBytes, tensorsFromSafetensors, downloadSafetensors, readSafetensorsFile, type LoadedSafetensors,
} from './checkpoint/bytes';
export { fromPyTorchNames, toPyTorchNames, fromPyTorchName, toPyTorchName, type StateDictNames } from './checkpoint/names';
export {
  exportOnnx, importOnnx, buildOnnxModel, OnnxModel, OnnxScope, OnnxExportError, OnnxImportError,
  type ExportOnnxOptions, type ExportOnnxFileOptions, type ImportOnnxOptions,
} from './onnx/index';
// Files, checkpoints on disk and the terminal progress bar are in the Node entry, ./node.ts.
