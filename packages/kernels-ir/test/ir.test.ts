/** The backend-neutral layer: shape arithmetic, window geometry, and the JavaScript rendering of the expression language. */
import { describe, expect, it } from 'vitest';
import * as IR from '../src/index';

const E = IR.expr;
const op = (name: string, expr: IR.Expr, arity: 1 | 2 = 1, ints: IR.IntRule = 'float'): IR.ElementwiseKernelOp => ({ name, arity, expr, ints });

describe('shapes', () => {
  it('counts elements and gives row-major strides', () => {
    expect(IR.sizeOf([])).toBe(1);
    expect(IR.sizeOf([2, 0, 3])).toBe(0);
    expect(IR.sizeOf([2, 3, 4])).toBe(24);
    expect(IR.stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(IR.stridesOf([])).toEqual([]);
  });

  it('merges dims every operand walks contiguously, and drops size-1 dims', () => {
    expect(IR.mergeDims([2, 3, 4], [[12, 4, 1]])).toEqual({ shape: [24], strides: [[1]] });
    expect(IR.mergeDims([2, 1, 3], [[3, 3, 1], [0, 0, 1]])).toEqual({ shape: [2, 3], strides: [[3, 1], [0, 1]] });
    expect(IR.mergeDims([4, 5], [[1, 4]])).toEqual({ shape: [4, 5], strides: [[1, 4]] });
    expect(IR.broadcastStrides([3, 1], [3, 4])).toEqual([1, 0]);
  });
});

describe('window geometry', () => {
  const conv: IR.ConvParams = { batch: 2, inChannels: 4, outChannels: 6, groups: 2, inSize: [9, 8], kernel: [3, 2], outSize: [4, 7], stride: [2, 1], padding: [1, 0], dilation: [1, 1] };

  it('left-pads 1-D and 2-D windows to three dims (size 1, stride 1, no padding)', () => {
    const g = IR.conv3(conv);
    expect([g.i, g.k, g.o, g.s, g.p, g.d]).toEqual([[1, 9, 8], [1, 3, 2], [1, 4, 7], [1, 2, 1], [0, 1, 0], [1, 1, 1]]);
    expect([g.Cg, g.COg, g.KK, g.L, g.plane]).toEqual([2, 3, 6, 28, 72]);
    expect(IR.to3([5], 0)).toEqual([0, 0, 5]);
  });

  it('refuses 0 or 4 spatial dims and lists of the wrong length, naming the op and the list', () => {
    expect(() => IR.conv3({ ...conv, inSize: [2, 2, 2, 2] })).toThrow(/^conv: 4 spatial dims are not supported \(1 to 3\)$/);
    expect(() => IR.checkWindow('avgPool', { ...conv, inSize: [] })).toThrow(/^avgPool: 0 spatial dims/);
    expect(() => IR.checkWindow('maxPool', { ...conv, stride: [2] })).toThrow(/^maxPool: stride has 1 entries, expected 2 \(inSize \[9,8\]\)$/);
    expect(IR.checkWindow('maxPool', conv)).toBe(2);
  });
});

describe('the JavaScript rendering', () => {
  const unary = (o: IR.ElementwiseKernelOp, xs: number[], out: Float32Array | Int32Array = new Float32Array(xs.length), intMath = false) => {
    (new Function(IR.unaryLoopSource(o, intMath))() as (x: ArrayLike<number>, y: Float32Array | Int32Array, a: number, b: number) => void)(xs, out, 2, 0);
    return [...out];
  };

  it('renders every node kind, constants that are not plain numbers included', () => {
    expect(IR.renderJs(E.select(E.and(E.lt(E.x, 0), E.ne(E.y, E.y)), E.neg(E.a), E.exp(E.x)), false)).toBe('(((x < 0) && (y !== y)) ? (-a) : Math.exp(x))');
    expect(IR.renderJs(E.add(E.num(-0), E.num(-Infinity)), false)).toBe('((-0) + (-Infinity))');
    expect(IR.renderJs(E.pow(E.x, NaN), false)).toBe('(x ** NaN)');
    const rendered = new Set<string>();
    const walk = (e: IR.Expr): void => {
      rendered.add(e.kind);
      if ('lhs' in e) [e.lhs, e.rhs].forEach(walk);
      if (e.kind === 'neg' || e.kind === 'fround') walk(e.arg);
      if (e.kind === 'select') [e.cond, e.ifTrue, e.ifFalse].forEach(walk);
      if (e.kind === 'call') e.args.forEach(walk);
    };
    const all = E.select(E.or(E.ge(E.x, E.b), E.eq(E.y, 1)), E.neg(E.mul(E.x, E.a)), E.sign(E.fround(E.arg(0))));
    walk(all);
    expect([...rendered].sort()).toEqual([...E.EXPR_KINDS].sort());
    expect(() => IR.renderJs(all, false)).not.toThrow();
  });

  it('compiles to loops: a parameter, a boolean root as 1 / 0, sign(NaN) = 0', () => {
    expect(unary(op('scale', E.mul(E.x, E.a)), [1, -2.5])).toEqual([2, -5]);
    expect(unary(op('isNaN', E.isNaN(E.x)), [NaN, 1])).toEqual([1, 0]);
    expect(unary(op('sign', E.sign(E.x)), [-3, 0, NaN, 7])).toEqual([-1, 0, 0, 1]);
  });

  it('keeps int32 exact where the op says so: mul wraps, div truncates', () => {
    const mul = op('mulInt', E.mul(E.x, E.x), 1, 'exact');
    expect(IR.usesIntMath(mul, true)).toBe(true);
    expect(IR.usesIntMath(mul, false)).toBe(false);
    expect(IR.usesIntMath(op('expF', E.exp(E.x)), true)).toBe(false);
    expect(unary(mul, [65536, -3], new Int32Array(2), true)).toEqual([0, 9]);
    expect(unary(op('half', E.div(E.x, E.a), 1, 'exact'), [7, -7], new Int32Array(2), true)).toEqual([3, -3]);
  });

  it('broadcasts binary ops through the walk it is given, and runs equal sizes and a scalar flat', () => {
    const add = op('add', E.add(E.x, E.y), 2, 'exact');
    const walks: number[] = [];
    const broadcastLoop = (out: number[], _shapes: number[][], inner: (o: number, offs: number[], strides: number[], n: number) => void) => {
      walks.push(out.length);
      for (let r = 0; r < out[0]; r++) inner(r * out[1], [r, 0], [0, 1], out[1]);
    };
    const loop = new Function('broadcastLoop', IR.binaryLoopSource(add, false))(broadcastLoop) as (a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[], os: number[], y: Float32Array) => void;
    const y = new Float32Array(6);
    loop([10, 20], [2, 1], [1, 2, 3], [1, 3], [2, 3], y);
    expect([...y]).toEqual([11, 12, 13, 21, 22, 23]);
    loop([1, 2, 3, 4, 5, 6], [6], [1], [1], [6], y);
    loop([...y], [6], [1, 1, 1, 1, 1, 1], [6], [6], y);
    expect([...y]).toEqual([3, 4, 5, 6, 7, 8]);
    expect(walks).toEqual([2]);
  });
});

describe("batch norm's channel maps", () => {
  const compile = (map: IR.ChannelMap) => new Function(IR.channelMapSource(map))() as (c: Record<string, number | undefined>) => (...e: number[]) => number;

  it('apply: (x − mean)·invstd·w + b, an absent weight 1 and bias 0', () => {
    const f = compile(IR.batchNormApply);
    expect(f({ mean: 2, invstd: 0.5, weight: 3, bias: -1 })(6)).toBe(5);
    expect(f({ mean: 2, invstd: 0.5, weight: undefined, bias: undefined })(6)).toBe(2);
  });

  it("gx: w·invstd·(g − gbias/m − x̂·gweight/m), x̂ = (x − mean)·invstd, from per-channel coefficients", () => {
    const f = compile(IR.batchNormGrad);
    const [mean, invstd, weight, gbias, gweight, m, g, x] = [0.25, 2, -1.5, 3, -0.75, 8, 0.5, 1.25];
    const want = weight * invstd * (g - gbias / m - (x - mean) * invstd * gweight / m);
    expect(f({ mean, invstd, weight, gbias, gweight, m })(g, x)).toBeCloseTo(want, 14);
    expect(IR.batchNormGrad.coefficients).toHaveLength(3);
  });

  it('names each map by its trees', () => {
    expect(IR.batchNormApply.name).not.toBe(IR.batchNormGrad.name);
    expect(IR.batchNormApply.name).toContain(IR.exprKey(IR.batchNormApply.expr));
  });
});

describe('product epilogues', () => {
  it('fold a reshaped product output and its broadcast inputs into the three axes, or refuse', () => {
    // matmul [2·3, 5, 7] seen as [2, 3, 5, 7]: batch dims merge; a bias, a row scale, a residual
    expect(IR.collapseTo3([2, 3, 5, 7], [[1, 1, 1, 7], [2, 3, 5, 1], [2, 3, 5, 7], [1, 1, 1, 1]], [6, 5, 7])).toEqual([[1, 1, 7], [6, 5, 1], [6, 5, 7], [1, 1, 1]]);
    // conv [N, C, 4·3]: spatial dims merge; size-1 dims anywhere are neutral
    expect(IR.collapseTo3([2, 1, 8, 4, 3], [[1, 1, 8, 1, 1], [2, 1, 8, 4, 3]], [2, 8, 12])).toEqual([[1, 8, 1], [2, 8, 12]]);
    // own in one batch dim, broadcast in the other: no three-axis view
    expect(IR.collapseTo3([2, 3, 5, 7], [[2, 1, 1, 7]], [6, 5, 7])).toBeNull();
    // no grouping of the dims gives the axes
    expect(IR.collapseTo3([4, 9], [[4, 9]], [6, 2, 3])).toBeNull();
    // nothing to view: any shape (a unary op's flat one)
    expect(IR.collapseTo3([420], [], [2, 6, 35])).toEqual([]);
  });

  it('are checked against the product and keyed by their broadcast pattern', () => {
    const op = IR.fusedOp(E.add(E.arg(0), E.arg(1)), 2);
    expect(() => IR.checkProductEpilogue({ op, shapes: [[1, 1, 7]] }, [2, 5, 7], 'matmul')).not.toThrow();
    expect(() => IR.checkProductEpilogue({ op, shapes: [] }, [2, 5, 7], 'matmul')).toThrow(/takes 2 inputs, given the product and 0 more/);
    expect(() => IR.checkProductEpilogue({ op, shapes: [[2, 5, 6]] }, [2, 5, 7], 'conv')).toThrow(/conv: an epilogue input of shape \[2,5,6\]/);
    expect(IR.broadcastPattern([[1, 1, 7], [2, 5, 7]])).toBe('bbf.fff');
  });
});
