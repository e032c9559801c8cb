// The reference-daemon harness lives in src/lab (the lab and the demo start the same daemons);
// tests keep importing it from here.
export * from '../../src/lab/reference-daemons.js';
