/**
 * Panel 3, LAB.md §3: dilation rates and a kernel size in; the HDC verdict (the rule broken
 * and its working), the receptive field and the coverage map out. The map counts, for one
 * output pixel of the stack, how many paths through the layers reach each input pixel: a
 * dark pixel is never seen (the gridding effect).
 */
import * as nn from '@webgrad/nn';
import { $, colourScale, drawMap } from './draw';

/** Paths from one output to each input position along one dim, for stride-1 k-wide layers. */
export function coverage1d(dilations: readonly number[], k: number): number[] {
  let counts = [1];
  for (const d of [...dilations].reverse()) {
    const extent = (k - 1) * d + 1;
    const next = new Array<number>(counts.length + extent - 1).fill(0);
    counts.forEach((c, i) => {
      for (let j = 0; j < k; j++) next[i + j * d] += c;
    });
    counts = next;
  }
  return counts;
}

export function parseRates(text: string): number[] {
  const rates = text.split(/[\s,]+/).filter(Boolean).map(Number);
  if (!rates.length) throw new Error('give at least one dilation rate');
  if (rates.some((r) => !Number.isInteger(r) || r < 1)) throw new Error(`dilation rates must be positive integers, got "${text}"`);
  return rates;
}

export function dilationPanel(): { show(rates: string, k: number): nn.HdcVerdict | null } {
  const show = (ratesText: string, k: number): nn.HdcVerdict | null => {
    $<HTMLInputElement>('dil-rates').value = ratesText;
    $<HTMLInputElement>('dil-k').value = String(k);
    const verdictBox = $('dil-verdict');
    try {
      if (!Number.isInteger(k) || k < 1) throw new Error(`kernel size must be a positive integer, got ${k}`);
      const rates = parseRates(ratesText);
      const v = nn.checkHDC(rates, k);
      const broken = v.rules.filter((r) => !r.ok);
      verdictBox.className = '';
      verdictBox.innerHTML = '';
      const head = document.createElement('p');
      head.className = v.ok ? 'ok' : 'bad';
      head.textContent = v.ok ? `[${rates.join(', ')}] with k = ${k} meets the HDC rules` : `[${rates.join(', ')}] breaks HDC rule ${broken.map((r) => r.rule).join(' and ')}`;
      verdictBox.append(head);
      for (const r of v.rules) {
        const line = document.createElement('div');
        line.className = r.ok ? 'ok' : 'bad';
        line.textContent = `${r.ok ? '✓' : '✗'} rule ${r.rule}, ${r.name}: ${r.detail}`;
        verdictBox.append(line);
      }
      $('dil-chain').textContent = v.chain.join('\n');
      const rf = nn.receptiveField(rates.map((d) => ({ kernelSize: k, dilation: d })));
      const counts = coverage1d(rates, k);
      const holes = counts.filter((c) => c === 0).length;
      const map = new Float32Array(counts.length * counts.length);
      counts.forEach((a, y) => counts.forEach((b, x) => (map[y * counts.length + x] = a * b)));
      colourScale($('dil-map-scale'), 'heat', drawMap($<HTMLCanvasElement>('dil-map'), map, counts.length, counts.length, 'heat'), 'paths');
      $('dil-rf').textContent =
        `receptive field ${rf.size}×${rf.size} (after each layer: ${rf.layers.map((l) => l.size).join(' → ')}); ` +
        `${holes ? `${holes} of ${counts.length} positions per row and column never seen: ${(100 * (1 - ((counts.length - holes) / counts.length) ** 2)).toFixed(0)} % of the field's pixels` : 'every position seen'}`;
      return v;
    } catch (err) {
      verdictBox.innerHTML = '';
      verdictBox.textContent = (err as Error).message;
      verdictBox.className = 'bad';
      return null;
    }
  };
  const fromInputs = () => void show($<HTMLInputElement>('dil-rates').value, Number($<HTMLInputElement>('dil-k').value));
  $('dil-rates').addEventListener('input', fromInputs);
  $('dil-k').addEventListener('input', fromInputs);
  document.querySelectorAll<HTMLButtonElement>('#dilation-panel [data-rates]').forEach((b) => b.addEventListener('click', () => void show(b.dataset.rates!, Number($<HTMLInputElement>('dil-k').value))));
  show('1,2,5', 3);
  return { show };
}
