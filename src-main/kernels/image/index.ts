// Image-processing kernels: pure functions over flat row-major images (index x + y·nx). Each allocates its
// output and never mutates its inputs.
export * from './background';
export * from './distance';
export * from './gaussian';
export * from './label';
export * from './mask';
export * from './morphology';
export * from './phase-correlation';
export * from './threshold';
export * from './util';
export * from './watershed';
