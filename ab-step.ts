import { trainingStep, models } from './bench/train';
const m = models[Number(process.argv[2])], runs = Number(process.argv[3]);
const { step, dispose } = trainingStep(m.make, 'cpu', 64);
for (let i = 0; i < 1; i++) await step();
const times: number[] = [];
for (let i = 0; i < runs; i++) { const t0 = performance.now(); await step(); times.push(performance.now() - t0); }
times.sort((a, b) => a - b);
console.log(`${process.cwd().includes('before') ? 'before' : 'after '} ${m.name}: median ${times[runs >> 1].toFixed(0)} ms/step, ${(64000 / times[runs >> 1]).toFixed(1)} img/s (min ${times[0].toFixed(0)} ms)`);
dispose();
