/**
 * PyTorch's state-dict names and webgrad's, declared once as a pair of inverse spellings of
 * each dotted segment: PyTorch's snake_case (`bn.running_mean`, `num_batches_tracked`) and
 * webgrad's camelCase (`bn.runningMean`, `numBatchesTracked`). Module paths are the same in
 * both (`features.0`, `layer1.0.conv1`): a webgrad model and its PyTorch twin name their
 * submodules alike. Every interop path (stateDict / loadStateDict with names: 'pytorch',
 * importOnnx reading torch.onnx's initializer names) goes through these two functions.
 */

/** `running_mean` → `runningMean` (in every segment). */
export const fromPyTorchName = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** `runningMean` → `running_mean` (in every segment); fromPyTorchName's inverse on webgrad's names. */
export const toPyTorchName = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, (_, a: string, b: string) => `${a}_${b.toLowerCase()}`);

/** A state dict (or any record keyed by state-dict names) with PyTorch's names in webgrad's spelling. */
export function fromPyTorchNames<T>(state: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [fromPyTorchName(k), v]));
}

/** webgrad's names in PyTorch's spelling: what torch's load_state_dict(strict=True) of the twin module expects. */
export function toPyTorchNames<T>(state: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [toPyTorchName(k), v]));
}

/** Which spelling a state dict uses. */
export type StateDictNames = 'webgrad' | 'pytorch';
