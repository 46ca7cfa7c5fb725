// Worker tasks of tracking: one line each around the tracker, its types taken from it. Progress crosses the thread
// boundary through a shared counter ([done, total]) that the stage service reads.
import { progressWriter, type TaskContext } from '../../workers/protocol';
import { trackObjects } from './tracker';

type TrackArgs = Parameters<typeof trackObjects>;

export const trackingTasks = {
  trackClassical: (a: { input: TrackArgs[0]; prompts: TrackArgs[1]; options: TrackArgs[2]; progress?: Int32Array }, c: TaskContext) =>
    trackObjects(a.input, a.prompts, a.options, { signal: c.signal, onProgress: progressWriter(a.progress) }),
};
