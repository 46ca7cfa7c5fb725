// Store steps several store specs take the same way.
import { useExtractionStore } from '../extraction';
import { useLogStore } from '../log';
import { useMasksStore } from '../masks';
import { useSeriesStore } from '../series';
import { useTrackingStore } from '../tracking';

/** Opens the series, tracks the first auto-detected candidate as a new object and extracts it. */
export async function openTrackAndExtract(manifest: string): Promise<void> {
  await useSeriesStore().open(manifest);
  await useMasksStore().ensureLoaded();
  const tracking = useTrackingStore();
  await tracking.detect();
  await tracking.objectFromPoint(tracking.candidates[0]!.x, tracking.candidates[0]!.y);
  await useExtractionStore().run(false);
}

/** The messages logged at one level, oldest first. */
export function logged(level: 'debug' | 'info' | 'warn' | 'error'): string[] {
  return useLogStore()
    .lines.filter((l) => l.level === level)
    .map((l) => l.message);
}
