/**
 * `npm run lab`: every experiment of LAB.md in order, and the report in reports/<date-time>/
 * (index.html, report.md, metrics.json, PNG charts and image grids).
 *
 *   npm run lab [-- --quick | --full] [--device cpu] [--data DIR] [--resume] [--only 1,6] [--help]
 */
import { runCli } from './lab/main';
import { experiments } from './lab/experiments';

await runCli(experiments, process.argv.slice(2), 'npm run lab --');
