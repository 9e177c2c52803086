/**
 * webgrad and PyTorch 1.13, both ways, on four of the lab's architectures (simpleCnn,
 * dilatedCnn, ResNet-18 at width 8, the dehazing net), against the fixtures that
 * test/fixtures/onnx/make_fixtures.py made with PyTorch (no live PyTorch here):
 * - in: torch.onnx.export's files import with nn.importOnnx, and torch's state dicts load
 *   with loadStateDict(..., { names: 'pytorch', strict: true }); both give PyTorch's
 *   recorded output to 1e-5;
 * - out: webgrad's PyTorch-named state dicts are byte for byte the files PyTorch loaded with
 *   strict=True (their SHA-256 is recorded), and webgrad computes what PyTorch computed with them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { FIXTURE_MODELS, pytorchNamedBytes, seededModel } from './fixtures/onnx/webgrad-out';
import { relativeError } from '../packages/nn/test/helpers/onnx';

const fixture = (name: string) => new URL(`./fixtures/onnx/${name}`, import.meta.url).pathname;
const NAMES = Object.keys(FIXTURE_MODELS);

const evaluate = (model: nn.Module, x: wg.Tensor) => wg.tidy(() => wg.noGrad(() => model.eval().forward(x).dataSync()));

describe('PyTorch in: what torch 1.13 wrote gives its recorded output in webgrad', () => {
  it.each(NAMES)('%s: torch.onnx.export file through nn.importOnnx', async (name) => {
    const io = (await nn.loadSafetensors(fixture(`${name}.io.safetensors`))).tensors;
    const model = await nn.importOnnx(fixture(`${name}.onnx`));
    expect(model.producer).toMatch(/^pytorch 1\.13/);
    const y = evaluate(model, io.input);
    expect(relativeError(y, io.output.dataSync())).toBeLessThanOrEqual(1e-5);
  });

  it.each(NAMES)("%s: torch's state dict through loadStateDict(..., { names: 'pytorch', strict: true })", async (name) => {
    const io = (await nn.loadSafetensors(fixture(`${name}.io.safetensors`))).tensors;
    const { tensors, metadata } = await nn.loadSafetensors(fixture(`${name}.safetensors`));
    expect(metadata.written_by).toMatch(/^torch 1\.13/);
    const model = FIXTURE_MODELS[name].make();
    const result = model.loadStateDict(tensors, { names: 'pytorch', strict: true });
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(Object.keys(model.stateDict({ names: 'pytorch' }))).toEqual(Object.keys(tensors));
    expect(relativeError(evaluate(model, io.input), io.output.dataSync())).toBeLessThanOrEqual(1e-5);
  });

  it("a state dict of another architecture is refused with every missing, unexpected and mis-shaped key in torch's names", async () => {
    const { tensors } = await nn.loadSafetensors(fixture('simple_cnn.safetensors'));
    const other = nn.simpleCnn({ channels: [4, 8, 12], inputSize: 16, numClasses: 3, blocks: 3 });
    expect(() => other.loadStateDict({ ...tensors, 'head.weight': tensors['4.weight'] }, { names: 'pytorch', strict: true })).toThrow(
      /2\.0\.weight: shape \[16,8,3,3\] in the state, \[12,8,3,3\] in the model[\s\S]*not in the model: head\.weight/,
    );
  });
});

describe('PyTorch out: webgrad\'s PyTorch-named state dicts load in torch with strict=True', () => {
  const record = JSON.parse(readFileSync(fixture('pytorch-out.json'), 'utf8')) as { torch: string; models: Record<string, { sha256: string; keys: string[]; strict: boolean }> };

  it.each(NAMES)('%s: the bytes torch loaded, and torch\'s output computed again here', async (name) => {
    const bytes = await pytorchNamedBytes(name);
    const r = record.models[name];
    expect(r.strict).toBe(true);
    expect(createHash('sha256').update(bytes).digest('hex'), 'the file PyTorch loaded is what webgrad writes today (else re-run the fixture scripts)').toBe(r.sha256);
    expect(Object.keys(nn.tensorsFromSafetensors(bytes).tensors)).toEqual(r.keys);
    const out = (await nn.loadSafetensors(fixture('pytorch-out.safetensors'))).tensors;
    const model = seededModel(name);
    expect(relativeError(evaluate(model, out[`${name}.input`]), out[`${name}.output`].dataSync())).toBeLessThanOrEqual(1e-5);
  });
});
