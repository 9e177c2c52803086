import type { Tensor } from '@webgrad/tensor';
import { Module } from './module';

/** A module that can also be called as a function, PyTorch style: `model(x)` is `model.forward(x)`. */
export type CallableModule<M extends Module> = M & ((...inputs: Parameters<M['forward']>) => Tensor);

/**
 * Wraps a module so that `model(x)` runs `model.forward(x)`, as in PyTorch; everything else
 * (`model.parameters()`, `model.train()`, `model.fc1`, `instanceof`) reaches the module
 * itself. JavaScript calls only functions, so a Module stays a plain class (its fields,
 * private members, getters and devtools view behave as any class's) and the call syntax is
 * this opt-in wrapper: `const model = nn.callable(new Net())`.
 */
export function callable<M extends Module>(module: M): CallableModule<M> {
  if (!(module instanceof Module)) throw new Error(`callable: expects an nn.Module, got ${module === null ? 'null' : typeof module}`);
  // Methods run with the module itself as `this`, so #private fields and setters work; one
  // bound copy per method, so model.forward === model.forward.
  const bound = new Map<PropertyKey, { fn: unknown; bound: unknown }>();
  const target = (() => undefined) as unknown as object;
  return new Proxy(target, {
    apply: (_, __, args: unknown[]) => (module.forward as (...inputs: unknown[]) => Tensor).apply(module, args),
    get(_, key) {
      const value = Reflect.get(module, key, module);
      if (typeof value !== 'function' || key === 'constructor') return value;
      const cached = bound.get(key);
      if (cached?.fn === value) return cached.bound;
      const b = (value as (...a: unknown[]) => unknown).bind(module);
      bound.set(key, { fn: value, bound: b });
      return b;
    },
    set: (_, key, value) => Reflect.set(module, key, value, module),
    has: (_, key) => Reflect.has(module, key),
    deleteProperty: (_, key) => Reflect.deleteProperty(module, key),
    ownKeys: () => Reflect.ownKeys(module),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(module, key),
    defineProperty: (_, key, desc) => Reflect.defineProperty(module, key, desc),
    getPrototypeOf: () => Reflect.getPrototypeOf(module),
  }) as CallableModule<M>;
}
