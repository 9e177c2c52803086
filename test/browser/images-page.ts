// A page that trains on images the user picked: File objects from an <input type=file>,
// decoded, batched by a DataLoader and used for one training step, all with the browser
// entries of the packages (test/browser-images.test.ts drives it).
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { DataLoader, decodeImageSource, imageSetFromSources, transforms } from '@webgrad/datasets';

export interface ImagesRun {
  files: number;
  batches: { x: number[]; y: number[] }[];
  lossBefore: number;
  lossAfter: number;
  /** Sum of the decoded pixels of the first file, of a PNG Blob and of a JPEG fetched by URL. */
  firstFileSum: number;
  pngSum: number;
  urlSum: number;
  /** A 5×3 WebP of one colour (a format webgrad does not decode: the browser's decoder reads it), as RGB and as grey. */
  webp: { width: number; height: number; rgb: number[]; grey: number };
  sharedMemory: boolean;
}

const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);

async function webpPixels(): Promise<ImagesRun['webp']> {
  const canvas = new OffscreenCanvas(5, 3);
  const context = canvas.getContext('2d')!;
  context.fillStyle = 'rgb(200, 40, 90)';
  context.fillRect(0, 0, 5, 3);
  const blob = await canvas.convertToBlob({ type: 'image/webp', quality: 1 });
  if (blob.type !== 'image/webp') throw new Error(`this browser wrote ${blob.type}, not WebP`);
  const rgb = await decodeImageSource(blob);
  const grey = await decodeImageSource(blob, 'grey');
  return { width: rgb.width, height: rgb.height, rgb: [...rgb.data.subarray(0, 3)], grey: grey.data[0] };
}

async function run(pngBytes: readonly number[], jpegUrl: string): Promise<ImagesRun> {
  await wg.useDevice('cpu');
  wg.manualSeed(0);
  const files = Array.from((document.querySelector("input[type=file]") as HTMLInputElement).files!);
  // The class is in the file name: red-3.jpg, blue-7.jpg.
  const set = await imageSetFromSources(files, { size: 16, labels: files.map((f) => (f.name.startsWith('red') ? 0 : 1)), classes: ['red', 'blue'] });
  const loader = new DataLoader(set, { batchSize: 10, shuffle: true, seed: 1, transforms: [transforms.toTensor(), transforms.normalize([0.5], [0.5])] });
  const model = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(4, 2));
  const opt = new nn.optim.SGD(model.parameters(), { lr: 0.5 });
  const batches: ImagesRun['batches'] = [];
  let first: { x: wg.Tensor; y: wg.Tensor } | null = null;
  for await (const b of loader) {
    batches.push({ x: b.x.shape, y: [...(await b.y.data())] });
    if (!first) first = { x: wg.keep(b.x), y: wg.keep(b.y) };
  }
  const lossOf = () => wg.noGrad(() => wg.crossEntropy(model.forward(first!.x), first!.y)).item();
  const lossBefore = await lossOf();
  opt.zeroGrad();
  wg.crossEntropy(model.forward(first!.x), first!.y).backward();
  opt.step();
  const lossAfter = await lossOf();
  await loader.close();
  return {
    files: files.length,
    batches,
    lossBefore,
    lossAfter,
    firstFileSum: sum((await decodeImageSource(files[0])).data),
    pngSum: sum((await decodeImageSource(new Blob([new Uint8Array(pngBytes)], { type: 'image/png' }))).data),
    urlSum: sum((await decodeImageSource(jpegUrl)).data),
    webp: await webpPixels(),
    sharedMemory: typeof SharedArrayBuffer === 'function',
  };
}

(globalThis as unknown as { imagesPage: unknown }).imagesPage = { run };
