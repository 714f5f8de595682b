/** Workflow entry point for the worker's bundle: every workflow type Baton registers. */
export { goalWorkflow } from './goal.js';
