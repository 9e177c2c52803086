/** The lab's experiments, in LAB.md's order. */
import type { Experiment } from './experiment';
import { basics } from '../01-basics';
import { handwritten } from '../02-cifar-handwritten';
import { hyperparameters } from '../03-hyperparameters';
import { alexnetExperiment } from '../04-alexnet';
import { mlpVsCnn } from '../05-mlp-vs-cnn';
import { dilated } from '../06-dilated';
import { resnet } from '../07-resnet';
import { vehicles } from '../08-vehicles';
import { dehaze } from '../09-dehaze';

export const experiments: Experiment[] = [basics, handwritten, hyperparameters, alexnetExperiment, mlpVsCnn, dilated, resnet, vehicles, dehaze];
