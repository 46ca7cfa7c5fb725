// Worker tasks of processing: one line each around the pipeline's pure functions, their types taken from them.
import type { TaskContext } from '../workers/protocol';
import { findLattice, searchPeaks } from './pipeline';

type Peaks = Parameters<typeof searchPeaks>;
type Lattice = Parameters<typeof findLattice>;

export const processingTasks = {
  searchPeaks: (a: { input: Peaks[0]; params: Peaks[1]; edits?: Peaks[2] }, c: TaskContext) => searchPeaks(a.input, a.params, a.edits, { signal: c.signal }),
  findLattice: (a: { table: Lattice[0]; input: Lattice[1]; params: Lattice[2] }, c: TaskContext) => findLattice(a.table, a.input, a.params, c.signal),
};
