/**
 * Multi-tensor optimizer steps in one dispatch (PyTorch's fused Adam does the same). A
 * dispatch binds each argument separately and a stage has few storage bindings (8 on some
 * adapters), so binding parameters one by one covers two per Adam dispatch. Instead, the
 * first step of a group moves its parameters into one arena buffer, and each kind of
 * optimizer state (Adam's m and v, SGD's momentum) into an arena of the same layout: every
 * storage keeps its identity and now names its slot (GpuStorage.moveTo), so tensors, modules
 * and optimizer state are untouched. Each step then copies every gradient (every array the
 * update only reads) into an arena of that layout (copies, not dispatches) and runs the
 * update's kernel once over the whole arena: the same formula in the same f32 order as per parameter, so
 * the values are bitwise the same. Slot padding is zero in every arena (cleared once, and
 * only real values are copied in), and an update of zeros stays zero.
 *
 * An arena binds whole, so a group larger than the binding limit is cut into several
 * arenas, one dispatch each (AlexNet's parameters exceed 128 MiB); a parameter larger than
 * the limit on its own is not packed and goes through the per-parameter path.
 *
 * Each step checks that the items are still exactly the packed ones (the same storages in
 * the same slots); otherwise (a parameter set_ to a new tensor, a parameter dropped, another
 * group) it packs them again, moving each storage from wherever it is now.
 */
import type { Kernel } from '@webgrad/kernels-wgsl';
import { Arena, type GpuStorage, bindingBuffer, bindingOffset } from './buffers';
import type { Context } from './context';
import type { Binding } from './queue';

/** One step's work: per item, its element count and storages, in the kernel's binding order. */
export interface PackItem {
  size: number;
  storages: GpuStorage[];
}


/** Items that share a set of arenas: one dispatch. */
interface Chunk {
  /** Indices into the packed items. */
  items: number[];
  /** Byte offset of each of those items' slot. */
  offsets: number[];
  /** The arenas, in kernel binding order (the read-only roles' arenas filled by copies each step). */
  arenas: GPUBuffer[];
  /** 4-byte values in each arena, padding included. */
  elements: number;
}

/** A packed group, kept as the `owner` of its parameter arenas. */
interface Layout {
  /** The packed items' storages, as at packing time. */
  storages: GpuStorage[][];
  chunks: Chunk[];
}

export class Packer {
  /** Whether a group was packed already (see pack: only the first trims the pool). */
  private packedOnce = false;

  constructor(private ctx: Context) {}

  /**
   * Runs `kernel(elements)` over every item: packed items in one dispatch per arena, the
   * rest (too large to pack) through `single(i)`.
   */
  step(items: PackItem[], readOnly: readonly boolean[], kernel: (elements: number) => Kernel, single: (i: number) => void, what: string): void {
    if (items.length === 0) return;
    const limit = this.ctx.limits.maxBindingBytes;
    const packable: number[] = [];
    items.forEach((it, i) => {
      if (it.storages.every((s) => this.slotBytes(s) <= limit)) packable.push(i);
      else single(i);
    });
    if (packable.length === 0) return;
    const picked = packable.map((i) => items[i]);
    let layout = this.layoutOf(picked, readOnly);
    if (!layout) {
      if (!this.distinct(picked, readOnly)) {
        // A storage updated twice (two parameters sharing one): each update must see the other's, as per parameter.
        for (const i of packable) single(i);
        return;
      }
      layout = this.pack(picked, readOnly, what);
    }
    const q = this.ctx.queue;
    for (const chunk of layout.chunks) {
      chunk.items.forEach((i, j) => {
        readOnly.forEach((copied, r) => {
          if (!copied) return;
          const g = picked[i].storages[r].binding;
          q.copyRange(bindingBuffer(g), bindingOffset(g), chunk.arenas[r], chunk.offsets[j], picked[i].size * 4);
        });
      });
    }
    for (const chunk of layout.chunks) q.run(kernel(chunk.elements), chunk.arenas as Binding[]);
  }

  /** Bytes a storage takes in an arena: slots start on the binding offset alignment. */
  private slotBytes(s: GpuStorage): number {
    const align = this.ctx.bindingAlignment;
    return Math.ceil(s.bytes / align) * align;
  }

  /** The layout these items are packed in now, or null. */
  private layoutOf(items: PackItem[], readOnly: readonly boolean[]): Layout | null {
    const layout = items[0].storages[0].arena?.owner as Layout | undefined;
    if (!layout || layout.storages.length !== items.length) return null;
    for (const chunk of layout.chunks) {
      for (let j = 0; j < chunk.items.length; j++) {
        const i = chunk.items[j], now = items[i].storages, then = layout.storages[i];
        if (now.length !== then.length) return null;
        for (let r = 0; r < now.length; r++) {
          if (readOnly[r]) continue;
          const s = now[r];
          if (s !== then[r] || s.arena?.buffer !== chunk.arenas[r] || s.offset !== chunk.offsets[j]) return null;
        }
      }
    }
    return layout;
  }

  private distinct(items: PackItem[], readOnly: readonly boolean[]): boolean {
    const seen = new Set<GpuStorage>();
    for (const it of items) {
      for (let r = 0; r < it.storages.length; r++) {
        if (readOnly[r]) continue;
        if (seen.has(it.storages[r])) return false;
        seen.add(it.storages[r]);
      }
    }
    return true;
  }

  /** Moves the items' storages (all but the gradients) into new arenas; the layout is the parameter arenas' owner. */
  private pack(items: PackItem[], readOnly: readonly boolean[], what: string): Layout {
    const q = this.ctx.queue, limit = this.ctx.limits.maxBindingBytes;
    const roles = items[0].storages.length;
    const layout: Layout = { storages: items.map((it) => [...it.storages]), chunks: [] };
    let chunk: Chunk | null = null, bytes = 0;
    const close = () => {
      if (!chunk) return;
      chunk.elements = bytes / 4;
      layout.chunks.push(chunk);
    };
    items.forEach((it, i) => {
      if (it.storages.length !== roles) throw new Error(`webgpu: ${what}: every item needs the same buffers`);
      const slot = Math.max(...it.storages.filter((_, r) => !readOnly[r]).map((s) => this.slotBytes(s)));
      if (!chunk || bytes + slot > limit) {
        close();
        chunk = { items: [], offsets: [], arenas: [], elements: 0 };
        bytes = 0;
      }
      chunk.items.push(i);
      chunk.offsets.push(bytes);
      bytes += slot;
    });
    close();
    // The first packing frees the pool around it: before, room for the arenas (the free
    // buffers are a step's activations, made again next step); after, the per-parameter
    // buffers the storages left, which nothing of their sizes may ask for again. A later
    // re-pack (a parameter replaced, a parameter without a gradient this step) leaves the
    // pool alone, so that repeated ones reuse the arenas they free instead of reallocating
    // every buffer.
    const trim = !this.packedOnce;
    this.packedOnce = true;
    if (trim) {
      q.flush();
      q.pool.trim();
    }
    for (const c of layout.chunks) {
      const arenas = Array.from({ length: roles }, () => new Arena(q.storageBuffer(c.elements * 4, `${what} (packed)`)));
      c.arenas = arenas.map((a) => a.buffer);
      for (const a of arenas) q.clear(a.buffer, c.elements * 4);
      // The parameter arena owns the layout and the gradient arena, which lives as long as it.
      arenas[0].owner = layout;
      arenas.forEach((a, r) => readOnly[r] && arenas[0].companions.push(a.buffer));
      c.items.forEach((i, j) => {
        items[i].storages.forEach((s, r) => {
          if (readOnly[r]) return;
          q.copyRange(s.buffer, s.offset, arenas[r].buffer, c.offsets[j], items[i].size * 4);
          this.ctx.release(s);
          s.moveTo(arenas[r], c.offsets[j]);
        });
      });
    }
    if (trim) {
      q.flush();
      q.pool.trim();
    }
    return layout;
  }
}
