// The blocking detector of a bench server run under callgrind: every period stretched `scale` times
// (the emulator's slowdown), started before serve(), which then joins it (one detector per process,
// shared by acquireBlockDetector). Never released: the process serves until it is killed.
import { acquireBlockDetector } from '../../src/observe/block-detector.js';

/** Starts this process's detector at `thresholdMs` with its clock stretched `scale` times; lines go to stderr. */
export function startStretchedDetector(thresholdMs: number, scale: number): void {
  const logger = {
    debug() {},
    info() {},
    warn: (l: string) => console.error(`warn: ${l}`),
    error: (l: string) => console.error(`error: ${l}`),
  };
  acquireBlockDetector(thresholdMs, logger, scale);
}
