import type { Backend, DType, Storage, TypedArray } from './backend';
import { activeTrace } from './jit/state';
import { DataRef, collectionTurn, getBackend, keep, trackTensor, untrackTensor } from './engine';
import { fmt, sizeOf } from './shape';
import { backward as runBackward, type GradNode } from './autograd';
import { formatTensor, formatWithoutValues, type PrintOptions, type TensorTraits } from './format';
import { attachMethods, type TensorMethods } from './methods';

let nextId = 0;

/**
 * Safety net for tensors dropped without dispose(): their storage is released on GC.
 * The registry holds a box rather than the DataRef because set_() swaps the storage a
 * tensor owns; the box always names the current one.
 *
 * A tensor made inside a tidy() scope is registered only when it leaves the scopes alive
 * (keep(), or returned from the outermost one): until then the scope holds it, and the
 * scope's end disposes it. Most tensors of a training step never leave, and registering
 * and unregistering one cost about as much as the rest of making it.
 */
interface StorageBox {
  ref: DataRef;
}
const collected = new FinalizationRegistry<StorageBox>((box) => {
  untrackTensor(null);
  box.ref.release();
});

export type NestedArray = number | NestedArray[];

// The op methods (x.add(y), x.reshape(s), ...) are attached in methods.ts; this merges their types.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface Tensor extends TensorMethods {}

/**
 * An n-dimensional array on one device, with reverse-mode autograd.
 * Every op returns a new tensor; reshapes share storage with their source.
 */
export class Tensor {
  readonly isTensor = true;
  readonly id = nextId++;
  readonly shape: number[];
  readonly dtype: DType;
  /** The gradient accumulated by backward() (leaf tensors that require grad). */
  grad: Tensor | null = null;
  requiresGrad = false;
  /** @internal the op that made this tensor, until backward() releases the graph */
  _node: GradNode | null = null;
  private readonly box: StorageBox;
  private disposed = false;
  /** Registered with the safety net (see `collected`). */
  private guarded = false;

  /**
   * `new Tensor(source)`: a new leaf sharing source's storage (as detach()), for subclasses
   * such as nn.Parameter. To make tensors, use the creation functions (tensor, zeros, ...).
   */
  constructor(source: Tensor);
  /** @internal wraps a storage reference the new tensor takes over */
  constructor(ref: DataRef, shape: readonly number[], dtype: DType);
  constructor(src: Tensor | DataRef, shape?: readonly number[], dtype?: DType) {
    const fromTensor = src instanceof Tensor;
    const ref = fromTensor ? src._ref.retain() : src;
    if (fromTensor) [shape, dtype] = [src.shape, src.dtype];
    this.box = { ref };
    this.shape = [...shape!];
    this.dtype = dtype!;
    if (!trackTensor(this)) this._guard();
  }

  /** @internal registers this tensor with the GC safety net, once: called when no tidy scope holds it any longer. */
  _guard(): void {
    if (this.guarded || this.disposed) return;
    this.guarded = true;
    collected.register(this, this.box, this);
  }

  /** @internal the reference-counted storage this tensor owns */
  get _ref(): DataRef {
    return this.box.ref;
  }

  /** @internal wraps a fresh storage that the new tensor owns */
  static fromStorage(backend: Backend, storage: Storage, shape: readonly number[], dtype: DType): Tensor {
    return new Tensor(new DataRef(backend, storage), shape, dtype);
  }

  get device(): string {
    return this._ref.backend.name;
  }
  get backend(): Backend {
    return this._ref.backend;
  }
  /** @internal */
  get storage(): Storage {
    if (this.disposed) throw new Error(`tensor ${fmt(this.shape)} (${this.dtype}) was disposed and cannot be used`);
    const storage = this._ref.storage;
    // A jit trace binds what a tensor made outside it holds when each replay starts, not now.
    activeTrace()?.storageRead(this, storage);
    return storage;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.disposed;
  }
  get isLeaf(): boolean {
    return this._node === null;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.guarded) collected.unregister(this);
    untrackTensor(this);
    this._ref.release();
    this._node = null;
  }

  /** Keeps this tensor alive past the enclosing tidy() scopes. */
  keep(): this {
    return keep(this);
  }

  /** A copy of the values (waits for the device, and gives dropped tensors' finalizers their turn). */
  async data(): Promise<TypedArray> {
    const values = await this.backend.read(this.storage, this.size, this.dtype);
    await collectionTurn();
    return values;
  }

  /** The values, synchronously: cpu tensors only (a GPU cannot be read synchronously in a browser). */
  dataSync(): TypedArray {
    const b = this.backend;
    if (!b.readSync) throw new Error(`dataSync: tensor is on '${b.name}', which can only be read asynchronously: use await t.data()`);
    return b.readSync(this.storage, this.size, this.dtype);
  }

  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape);
  }

  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape);
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor has ${this.size} elements ${fmt(this.shape)}; item() needs exactly one`);
    return (await this.data())[0];
  }

  /**
   * Reverse-mode differentiation from this tensor. Without an argument it must hold one
   * element; otherwise pass the upstream gradient (same shape). Gradients accumulate into
   * the .grad of leaf tensors that require grad, and the graph is released.
   */
  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }

  /** Marks a leaf tensor as needing a gradient (float tensors only). */
  requiresGrad_(value = true): this {
    if (value && this.dtype === 'int32') throw new Error(`requiresGrad_: an int32 tensor ${fmt(this.shape)} cannot require a gradient`);
    if (!this.isLeaf) throw new Error('requiresGrad_: only leaf tensors can change requiresGrad (use detach() first)');
    this.requiresGrad = value;
    return this;
  }

  /** The same values, cut from the graph. Shares storage. */
  detach(): Tensor {
    return new Tensor(this._ref.retain(), this.shape, this.dtype);
  }

  /**
   * Takes src's values in place (same size, dtype and device; PyTorch's set_): how
   * optimizers, initialisers, gradient clipping and running statistics update the tensors
   * that modules hold. It rebinds this tensor to src's storage rather than copying, so a
   * view taken earlier (detach, reshape) keeps the old values, as a tensor captured before
   * an optimizer step would in a functional framework. src stays usable; dispose it as usual.
   */
  set_(src: Tensor): this {
    if (src.device !== this.device || src.size !== this.size || src.dtype !== this.dtype) {
      throw new Error(`assign: cannot assign ${fmt(src.shape)} ${src.dtype} on ${src.device} to ${fmt(this.shape)} ${this.dtype} on ${this.device}`);
    }
    const ref = src._ref.retain();
    this.box.ref.release();
    this.box.ref = ref;
    return this;
  }

  /** @deprecated the internal name of set_() */
  _assign(src: Tensor): void {
    this.set_(src);
  }

  /** Whether dataSync() / arraySync() work here (cpu); otherwise read with await data(). */
  get canReadSync(): boolean {
    return this.backend.readSync !== undefined;
  }

  // --- printing ------------------------------------------------------------------------

  private traits(): TensorTraits {
    return { shape: this.shape, dtype: this.dtype, device: this.device, requiresGrad: this.requiresGrad, gradFn: this._node?.op };
  }

  /**
   * PyTorch's repr with the values: `tensor([[0.1234, 1.0000]], requiresGrad=true)`.
   * Synchronous, so a tensor on a GPU prints its shape and device only: use
   * `await t.format()` or `await t.print()` to see its values.
   */
  toString(opts?: PrintOptions): string {
    if (this.disposed) return formatWithoutValues(this.traits(), 'disposed');
    if (!this.backend.readSync) return formatWithoutValues(this.traits(), 'on a GPU: await t.format() or t.print() to read the values');
    return formatTensor(this.dataSync(), this.traits(), opts);
  }

  /** The repr with the values read from any device (waits for it). */
  async format(opts?: PrintOptions): Promise<string> {
    if (this.disposed) return formatWithoutValues(this.traits(), 'disposed');
    return formatTensor(await this.data(), this.traits(), opts);
  }

  /** Prints the values to the console, from any device: `await t.print()`. */
  async print(opts?: PrintOptions): Promise<void> {
    console.log(await this.format(opts));
  }

  /** What console.log and util.inspect show in Node (instead of the fields). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

attachMethods(Tensor.prototype);

function nest(data: TypedArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return data[0];
  const build = (offset: number, dim: number): NestedArray[] => {
    const n = shape[dim];
    const stride = sizeOf(shape.slice(dim + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) {
      out.push(dim === shape.length - 1 ? data[offset + i] : build(offset + i * stride, dim + 1));
    }
    return out;
  };
  return build(0, 0);
}

export function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && (x as Tensor).isTensor === true;
}

/** @internal */
export function backendOf(device: string): Backend {
  return getBackend(device);
}
