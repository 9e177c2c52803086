/**
 * The lab's data catalogue: which sets were found where (locate.ts), and a record of the
 * ones the experiments actually read, so the report says exactly which data it used.
 */
import type { DataUse } from './types';
import { type DataRoot, type Located, ENABLE, dataRoots, findCifar10, findDehaze, findFashionMnist, findVehicles } from './locate';

export class DataCatalog {
  readonly roots: DataRoot[];
  cifar10: ReturnType<typeof findCifar10>;
  readonly fashionMnist: Located | null;
  readonly vehicles: Located | null;
  readonly dehaze: Located | null;
  readonly allowDownload: boolean;
  /** Set after a failed download, so the next experiment does not try again. */
  downloadFailed = false;
  readonly used: DataUse[] = [];

  constructor(opts: { dataDir?: string; download: boolean }) {
    this.roots = dataRoots(opts.dataDir);
    this.cifar10 = findCifar10(this.roots);
    this.fashionMnist = findFashionMnist();
    this.vehicles = findVehicles(this.roots);
    this.dehaze = findDehaze(this.roots);
    this.allowDownload = opts.download;
  }

  use(name: string, where: Located): void {
    if (!this.used.some((u) => u.name === name && u.path === where.path)) this.used.push({ name, path: where.path, source: where.source });
  }

  /** Sets that were looked for and not found, with how to get them. */
  missing(): { name: string; enable: string }[] {
    const out: { name: string; enable: string }[] = [];
    if (!this.cifar10 && !this.fashionMnist) out.push({ name: 'CIFAR-10 / Fashion-MNIST', enable: ENABLE.images });
    else if (!this.cifar10) out.push({ name: 'CIFAR-10 (Fashion-MNIST used instead)', enable: ENABLE.cifar10 });
    if (!this.vehicles) out.push({ name: 'vehicles', enable: ENABLE.vehicles });
    if (!this.dehaze) out.push({ name: 'dehaze', enable: ENABLE.dehaze });
    return out;
  }
}
