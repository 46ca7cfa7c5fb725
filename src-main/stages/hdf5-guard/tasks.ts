// Worker task of the HDF5 guard: one line around the walk.
import { walkHdf5 } from './index';

export const hdf5GuardTasks = {
  walkHdf5: (a: { path: string }) => walkHdf5(a.path),
};
