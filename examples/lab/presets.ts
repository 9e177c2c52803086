/**
 * The three sizes of the lab. Each experiment keeps its own numbers beside its code and
 * picks them with `bySize`, so a reader sees an experiment's settings in one place.
 * - quick: tiny subsets, every experiment, under 3 minutes on a 2-core CPU (CI runs it).
 * - default: subsets sized so the whole lab stays under 20 minutes on a 2-core CPU.
 * - full: LAB.md's own settings (full sets, its epochs and batch sizes), for a GPU.
 */
export type PresetName = 'quick' | 'default' | 'full';

export function bySize<T>(preset: PresetName, sizes: Record<PresetName, T>): T {
  return sizes[preset];
}
