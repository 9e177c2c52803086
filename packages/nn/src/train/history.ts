/** One epoch's figures. Test fields are null when fit() has no test data. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  /** null for non-classification losses (targets that are not class indices). */
  trainAccuracy: number | null;
  testLoss: number | null;
  testAccuracy: number | null;
  /** Training time of the epoch (evaluation excluded). */
  seconds: number;
  /** Training images per second. */
  imagesPerSecond: number;
  /** Learning rate of the first parameter group during the epoch. */
  lr: number;
}

/** Per-epoch series, ready to chart (index i is epoch i + 1). */
export interface History {
  epochs: EpochRecord[];
  trainLoss: number[];
  trainAccuracy: (number | null)[];
  testLoss: (number | null)[];
  testAccuracy: (number | null)[];
  seconds: number[];
  imagesPerSecond: number[];
  lr: number[];
}

export function emptyHistory(): History {
  return { epochs: [], trainLoss: [], trainAccuracy: [], testLoss: [], testAccuracy: [], seconds: [], imagesPerSecond: [], lr: [] };
}

export function addEpoch(h: History, r: EpochRecord): void {
  h.epochs.push(r);
  h.trainLoss.push(r.trainLoss);
  h.trainAccuracy.push(r.trainAccuracy);
  h.testLoss.push(r.testLoss);
  h.testAccuracy.push(r.testAccuracy);
  h.seconds.push(r.seconds);
  h.imagesPerSecond.push(r.imagesPerSecond);
  h.lr.push(r.lr);
}

/** A history rebuilt from its epoch records (how checkpoints store it). */
export function historyFrom(epochs: EpochRecord[]): History {
  const h = emptyHistory();
  for (const r of epochs) addEpoch(h, r);
  return h;
}
