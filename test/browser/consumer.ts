// What a web page does with webgrad: the whole of both packages, as a user imports them.
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

export async function demo(): Promise<number> {
  await wg.useDevice('auto');
  const model = nn.simpleCnn({ blocks: 1, channels: 4, inputSize: 8, numClasses: 2 });
  const bytes = await nn.safetensorsBytes(model.stateDict());
  return bytes.length;
}

// A page runs it: an app build keeps only what runs (the packages' modules are side-effect free).
void demo().then((n) => console.log(`${n} bytes of weights`));
