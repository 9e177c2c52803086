import { Tensor, isTensor, keep, noGrad } from '@webgrad/tensor';
import { Parameter } from './parameter';
import { type ModelSummary, type SummaryOptions, summarize } from './summary';
import { type StateDictNames, fromPyTorchName, toPyTorchName } from './checkpoint/names';

export type StateDict = Record<string, Tensor>;

export interface StateDictOptions {
  /** Prepended to every key, with a dot. */
  prefix?: string;
  /**
   * 'webgrad' (default): `bn.runningMean`. 'pytorch': the names the PyTorch twin module has
   * (`bn.running_mean`, `bn.num_batches_tracked`), for torch's load_state_dict(strict=True).
   */
  names?: StateDictNames;
}

export interface LoadStateDictOptions {
  /** Missing or unexpected keys are an error (PyTorch's default). Shape and dtype mismatches always are. */
  strict?: boolean;
  /** The state's spelling: 'pytorch' reads PyTorch's names (a state dict torch wrote); errors then use them too. */
  names?: StateDictNames;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const fmtShape = (s: readonly number[]) => `[${s.join(',')}]`;
const count = (n: number) => n.toLocaleString('en-US');

/**
 * Base class of every layer and model, in torch.nn.Module's shape.
 *
 * Parameters, submodules and arrays of submodules are found from the instance's own
 * properties (as PyTorch's __setattr__ registers them), so a layer only assigns them:
 * `this.weight = new Parameter(...)`, `this.conv = new Conv2d(...)`, `this.blocks = [...]`.
 * Buffers (state that is saved but not trained, such as running statistics) are declared
 * with registerBuffer(). Property names starting with '_' are private and never registered.
 */
export abstract class Module {
  training = true;
  private readonly _bufferNames = new Set<string>();

  abstract forward(input: Tensor, ...rest: Tensor[]): Tensor;

  // --- registration -----------------------------------------------------------------

  /** Declares a buffer (kept past tidy scopes, saved by stateDict, moved by to()). */
  protected registerBuffer<T extends Tensor | null>(name: string, tensor: T): T {
    this._bufferNames.add(name);
    if (tensor) keep(tensor);
    (this as unknown as Record<string, unknown>)[name] = tensor;
    return tensor;
  }

  /** This module's own parameters, by property name, in declaration order. */
  protected namedOwnParameters(): [string, Parameter][] {
    return Object.entries(this).filter((e): e is [string, Parameter] => !e[0].startsWith('_') && e[1] instanceof Parameter);
  }

  protected namedOwnBuffers(): [string, Tensor][] {
    const self = this as unknown as Record<string, unknown>;
    return [...this._bufferNames].map((n) => [n, self[n]] as [string, unknown]).filter((e): e is [string, Tensor] => isTensor(e[1]));
  }

  /** Direct submodules; an array property `blocks` gives `blocks.0`, `blocks.1`, ... */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (k.startsWith('_')) continue;
      if (v instanceof Module) out.push([k, v]);
      else if (Array.isArray(v) && v.length > 0 && v.every((m) => m instanceof Module)) v.forEach((m: Module, i) => out.push([`${k}.${i}`, m]));
    }
    return out;
  }

  // --- traversal ---------------------------------------------------------------------

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every submodule, depth first, each once. */
  namedModules(prefix = '', seen = new Set<Module>()): [string, Module][] {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(join(prefix, name), seen));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter with its dotted name; a parameter shared by two modules appears once. */
  namedParameters(prefix = '', recurse = true): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    const out: [string, Parameter][] = [];
    for (const [mp, m] of mods) {
      for (const [n, p] of m.namedOwnParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([join(mp, n), p]);
      }
    }
    return out;
  }

  parameters(recurse = true): Parameter[] {
    return this.namedParameters('', recurse).map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    return this.namedModules(prefix).flatMap(([mp, m]) => m.namedOwnBuffers().map(([n, b]) => [join(mp, n), b] as [string, Tensor]));
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Calls fn on every submodule and then on this one (PyTorch's apply, e.g. to re-initialise). */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Number of parameter values (trainable only when asked). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    return this.parameters()
      .filter((p) => !opts.trainableOnly || p.requiresGrad)
      .reduce((acc, p) => acc + p.size, 0);
  }

  // --- modes and gradients -------------------------------------------------------------

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter's gradient (PyTorch's set_to_none default). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees every parameter and buffer; the module cannot be used afterwards. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
      p.dispose();
    }
    for (const b of this.buffers()) b.dispose();
  }

  // --- devices -------------------------------------------------------------------------

  /**
   * Moves every parameter and buffer to `device`. Parameters are replaced by new Parameter
   * objects on the device (the old ones are disposed), so, as PyTorch advises, move the
   * model BEFORE creating its optimizer. Sources that can only be read asynchronously (a GPU)
   * need toAsync().
   */
  to(device: string): this {
    const moved = new Map<Tensor, Tensor>();
    noGrad(() => {
      for (const m of this.modules()) {
        m.replaceOwnTensors(device, moved, (t) => {
          if (!t.canReadSync) {
            throw new Error(`Module.to('${device}'): a tensor ${fmtShape(t.shape)} is on '${t.device}', which can only be read asynchronously: use await model.toAsync('${device}')`);
          }
          return t.to(device);
        });
      }
    });
    return this;
  }

  /** to() for any source device (reads GPU tensors back asynchronously). */
  async toAsync(device: string): Promise<this> {
    const copies = new Map<Tensor, Tensor>();
    for (const m of this.modules()) {
      for (const [, t] of [...m.namedOwnParameters(), ...m.namedOwnBuffers()]) {
        if (t.device !== device && !copies.has(t)) copies.set(t, await t.toAsync(device));
      }
    }
    const moved = new Map<Tensor, Tensor>();
    for (const m of this.modules()) m.replaceOwnTensors(device, moved, (t) => copies.get(t)!);
    return this;
  }

  /** Swaps own parameters and buffers for copies on `device`; `moved` keeps shared tensors shared. */
  private replaceOwnTensors(device: string, moved: Map<Tensor, Tensor>, copy: (t: Tensor) => Tensor): void {
    const self = this as unknown as Record<string, Tensor>;
    const swap = (name: string, old: Tensor, makeParam: boolean) => {
      if (old.device === device) return;
      let next = moved.get(old);
      if (!next) {
        const c = copy(old);
        if (makeParam) {
          next = new Parameter(c, old.requiresGrad);
          c.dispose();
        } else {
          next = keep(c);
        }
        moved.set(old, next);
        old.grad?.dispose();
        old.grad = null;
        old.dispose();
      }
      self[name] = next;
    };
    for (const [name, p] of this.namedOwnParameters()) swap(name, p, true);
    for (const [name, b] of this.namedOwnBuffers()) swap(name, b, false);
  }

  // --- state ---------------------------------------------------------------------------

  /**
   * Parameters and buffers by dotted name (PyTorch's order: a module's own parameters, its
   * buffers, then its children's). These are the live tensors, not copies: do not dispose them.
   */
  stateDict(opts: StateDictOptions | string = {}): StateDict {
    const { prefix = '', names = 'webgrad' } = typeof opts === 'string' ? { prefix: opts } : opts;
    const spell = names === 'pytorch' ? toPyTorchName : (k: string) => k;
    const out: StateDict = {};
    const seen = new Set<Tensor>();
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [n, t] of [...m.namedOwnParameters(), ...m.namedOwnBuffers()]) {
        if (seen.has(t)) continue;
        seen.add(t);
        out[spell(join(mp, n))] = t;
      }
    }
    return out;
  }

  /**
   * Copies values into this module's existing tensors (so an optimizer that holds the
   * parameters keeps working). Shapes and dtypes must match; with strict (the default) the
   * keys must match too. The error lists every difference, in the state's own spelling.
   */
  loadStateDict(given: StateDict, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const pytorch = opts.names === 'pytorch';
    const state: StateDict = pytorch ? Object.fromEntries(Object.entries(given).map(([k, v]) => [fromPyTorchName(k), v])) : given;
    const spell = pytorch ? toPyTorchName : (k: string) => k;
    const notTensors = Object.entries(state).filter(([, v]) => !isTensor(v));
    if (notTensors.length) {
      const list = notTensors.map(([k, v]) => `${spell(k)} is ${describeEntry(v)}`).join('; ');
      throw new Error(`loadStateDict(${this.constructor.name}): every entry must be a Tensor: ${list} (wrap arrays with tensor(data, shape))`);
    }
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in state)).map(spell);
    const unexpectedKeys = Object.keys(state).filter((k) => !(k in own)).map(spell);
    const problems: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const src = state[k];
      if (!src) continue;
      if (src.shape.length !== t.shape.length || src.shape.some((d, i) => d !== t.shape[i])) {
        problems.push(`${spell(k)}: shape ${fmtShape(src.shape)} in the state, ${fmtShape(t.shape)} in the model`);
      } else if (src.dtype !== t.dtype) {
        problems.push(`${spell(k)}: dtype ${src.dtype} in the state, ${t.dtype} in the model`);
      }
    }
    if (strict) {
      if (missingKeys.length) problems.push(`missing from the state: ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length) problems.push(`not in the model: ${unexpectedKeys.join(', ')}`);
    }
    if (problems.length) throw new Error(`loadStateDict(${this.constructor.name}): ${problems.length} difference(s):\n  ${problems.join('\n  ')}`);
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) {
        const src = state[k];
        if (!src) continue;
        if (src.device !== t.device && !src.canReadSync) {
          throw new Error(`loadStateDict: ${k} is on '${src.device}' and the model on '${t.device}': load the state on cpu or on the model's device`);
        }
        // A copy, so the module never shares storage with the caller's tensors.
        const copy = src.device === t.device ? src.clone() : src.to(t.device);
        t.set_(copy);
        copy.dispose();
      }
    });
    for (const [mp, m] of this.namedModules()) m.afterLoadStateDict((name) => state[join(mp, name)]);
    return { missingKeys, unexpectedKeys };
  }

  /** Hook for modules that mirror a buffer in JavaScript (BatchNorm's batch count). */
  protected afterLoadStateDict(_get: (name: string) => Tensor | undefined): void {}

  // --- printing ------------------------------------------------------------------------

  /** The constructor arguments that describe this module, for toString(). */
  extraRepr(): string {
    return '';
  }

  /**
   * torchinfo's summary: one forward pass on zeros of `inputShape` (batch dim first) lists
   * every module call with its output shape and parameter count. `console.log(String(s))`.
   */
  summary(inputShape: readonly number[], opts: SummaryOptions = {}): ModelSummary {
    return summarize(this, inputShape, opts);
  }

  /** PyTorch's repr with parameter counts, e.g. `(0): Conv2d(3, 16, kernelSize=[3,3])  # 448`. */
  toString(): string {
    const total = this.numParameters();
    const trainable = this.numParameters({ trainableOnly: true });
    const frozen = trainable === total ? '' : `, ${count(trainable)} trainable`;
    return `${this.reprLines().join('\n')}\nTotal: ${count(total)} parameters${frozen}`;
  }

  private reprLines(): string[] {
    const name = this.constructor.name;
    const params = this.numParameters();
    const note = params ? `  # ${count(params)}` : '';
    const children = this.namedChildren();
    if (children.length === 0) return [`${name}(${this.extraRepr()})${note}`];
    const lines = [`${name}(${this.extraRepr()}${this.extraRepr() ? ',' : ''}${note}`];
    for (const [n, child] of children) {
      const [first, ...rest] = child.reprLines();
      lines.push(`  (${n}): ${first}`, ...rest.map((l) => `  ${l}`));
    }
    lines.push(')');
    return lines;
  }
}

/** A state-dict entry that is not a tensor, for the error: null, a Float32Array, an object, ... */
function describeEntry(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v !== 'object') return `a ${typeof v}`;
  const name = (v as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}
