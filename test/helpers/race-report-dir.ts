/**
 * One side of a race: at each agreed instant, make a report folder under <root>/<trial> with
 * the lab's newReportDir and print its name. Two of these started together show whether two
 * runs starting in the same millisecond can get the same folder.
 *
 *   node --import tsx test/helpers/race-report-dir.ts ROOT TRIALS START_MS
 */
import { join } from 'node:path';
import { newReportDir } from '../../examples/lab/store';

const [root, trials, start] = process.argv.slice(2);
for (let t = 0; t < Number(trials); t++) {
  const at = Number(start) + 50 * t;
  while (Date.now() < at) {
    // spin: a timer would wake each process at a slightly different moment
  }
  console.log(`${t} ${newReportDir(join(root, String(t)))}`);
}
