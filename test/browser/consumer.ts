// What a web page does with webgrad: the whole of both packages, as a user imports them.
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

export async function demo(): Promise<number> {
  await wg.useDevice('auto');
  const model = nn.simpleCnn({ blocks: 1, channels: 4, inputSize: 8, numClasses: 2 });
  const bytes = await nn.safetensorsBytes(model.stateDict());
  return bytes.length;
}
