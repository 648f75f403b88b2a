// The real legacy worker with its port registration dropped (see drop-registration.ts): simulates a
// registration that never reaches the pool while the batch results still do.
import './drop-registration.js';

export { default } from '../../workers/legacy-worker.js';
