import { isGradEnabled, keep, noGrad, tidy } from './engine';
import type { Tensor } from './tensor';
import { fmt, shapesEqual } from './shape';

/** How a tensor was made: its inputs, and how to turn its gradient into theirs. */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** One gradient per input (shaped like that input), or null where none flows. */
  backward: (grad: Tensor) => (Tensor | null | undefined)[];
  /**
   * What the op was called with beyond its inputs and shapes (a conv's stride, a permute's
   * dims), resolved to plain numbers: a recorded graph then says everything the op did, so an
   * exporter (nn.exportOnnx) can write it out.
   */
  attrs?: OpAttrs;
}

export type OpAttrs = Readonly<Record<string, number | boolean | string | readonly number[]>>;

/**
 * Attaches a graph node to `out` when grad mode is on and some input requires grad.
 * The backward closure is written with ops, so it runs on whatever device holds the tensors.
 */
export function record(op: string, out: Tensor, inputs: Tensor[], backward: GradNode['backward'], attrs?: OpAttrs): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out._node = attrs ? { op, inputs, backward, attrs } : { op, inputs, backward };
  }
  return out;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t._node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error(`backward: tensor ${fmt(root.shape)} does not require grad (no input of the ops that made it has requiresGrad)`);
  }
  if (grad === undefined && root.size !== 1) {
    throw new Error(
      `backward: called without a gradient on a tensor of shape ${fmt(root.shape)}; only a one-element (scalar) tensor can start backward() alone: pass a gradient of shape ${fmt(root.shape)}`,
    );
  }
  if (grad !== undefined && !shapesEqual(grad.shape, root.shape)) {
    throw new Error(`backward: gradient shape ${fmt(grad.shape)} does not match the tensor's shape ${fmt(root.shape)}`);
  }
  const order = topoOrder(root);
  // Every intermediate gradient is made inside this scope and freed at its end;
  // only the gradients that land in a leaf's .grad are kept.
  tidy(() =>
    noGrad(() => {
      const grads = new Map<Tensor, Tensor>();
      grads.set(root, grad ?? onesLike(root));
      for (const t of order) {
        const g = grads.get(t);
        if (!g) continue;
        grads.delete(t);
        const node = t._node;
        if (!node) {
          accumulateLeaf(t, g, g === grad);
          continue;
        }
        const inputGrads = node.backward(g);
        node.inputs.forEach((input, i) => {
          const gi = inputGrads[i];
          if (!gi || !input.requiresGrad) return;
          if (!shapesEqual(gi.shape, input.shape)) {
            throw new Error(`backward of ${node.op}: gradient ${fmt(gi.shape)} for input ${i} of shape ${fmt(input.shape)} (library bug)`);
          }
          const prev = grads.get(input);
          grads.set(input, prev ? prev.add(gi) : gi);
        });
      }
    }),
  );
  for (const t of order) t._node = null;
}

function accumulateLeaf(t: Tensor, g: Tensor, callers: boolean): void {
  // g may be shared with another leaf's gradient (add gives both inputs the same tensor), so
  // .grad gets a tensor of its own: a view of g's storage, which no op writes in place (set_
  // rebinds, it does not write), so no copy. Only the caller's own tensor is copied.
  const next = t.grad ? t.grad.add(g) : callers ? g.clone() : g.detach();
  t.grad?.dispose();
  t.grad = keep(next);
}

function onesLike(t: Tensor): Tensor {
  return t.onesLike();
}
