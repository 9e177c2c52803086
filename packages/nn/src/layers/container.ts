import { type Tensor, flatten } from '@webgrad/tensor';
import { Module } from '../module';
import { integerDim } from './sizes';

/** Runs its modules in order; children are named '0', '1', ... as in PyTorch. */
export class Sequential extends Module {
  private readonly _layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this._layers = layers;
  }

  override namedChildren(): [string, Module][] {
    return this._layers.map((m, i) => [String(i), m]);
  }

  get length(): number {
    return this._layers.length;
  }

  at(i: number): Module {
    const m = this._layers.at(i);
    if (!m) throw new Error(`Sequential: index ${i} is out of range for ${this._layers.length} layers`);
    return m;
  }

  append(m: Module): this {
    this._layers.push(m);
    return this;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this._layers) y = m.forward(y);
    return y;
  }
}

/** Holds submodules without a forward of its own (PyTorch's ModuleList). */
export class ModuleList extends Module {
  private readonly _items: Module[];

  constructor(items: Module[] = []) {
    super();
    this._items = items;
  }

  override namedChildren(): [string, Module][] {
    return this._items.map((m, i) => [String(i), m]);
  }

  get length(): number {
    return this._items.length;
  }

  at(i: number): Module {
    const m = this._items.at(i);
    if (!m) throw new Error(`ModuleList: index ${i} is out of range for ${this._items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this._items[Symbol.iterator]();
  }

  forward(): Tensor {
    throw new Error('ModuleList has no forward: iterate over it and call each module');
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens dims startDim..endDim (by default everything but the batch). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
    integerDim('Flatten', 'startDim', startDim);
    integerDim('Flatten', 'endDim', endDim);
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}
