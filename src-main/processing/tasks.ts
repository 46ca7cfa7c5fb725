// Worker tasks of processing: one line each around the pipeline's pure functions, their types taken from them.
import type { TaskContext } from '../workers/protocol';
import { findLattice, searchPeaks } from './pipeline';
import { reduceObject } from './reduce';

type Peaks = Parameters<typeof searchPeaks>;
type Lattice = Parameters<typeof findLattice>;
type Reduce = Parameters<typeof reduceObject>;

export const processingTasks = {
  searchPeaks: (a: { input: Peaks[0]; params: Peaks[1]; edits?: Peaks[2] }, c: TaskContext) => searchPeaks(a.input, a.params, a.edits, { signal: c.signal }),
  findLattice: (a: { table: Lattice[0]; input: Lattice[1]; params: Lattice[2] }, c: TaskContext) => findLattice(a.table, a.input, a.params, c.signal),
  reduceObject: (a: { input: Reduce[0]; table: Reduce[1]; lattice: Reduce[2]; options: Omit<NonNullable<Reduce[3]>, 'signal'> }, c: TaskContext) =>
    reduceObject(a.input, a.table, a.lattice, { ...a.options, signal: c.signal }),
};
