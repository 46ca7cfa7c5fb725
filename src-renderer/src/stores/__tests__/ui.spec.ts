// The ui store's command bus: what shortcuts and the native menu trigger.
import { describe, expect, it } from 'vitest';
import { useMaskToolsStore } from '../mask-tools';
import { useSeriesStore } from '../series';
import { useUiStore } from '../ui';
import { TILTS, storeFixture } from './fixture';

const fx = storeFixture();

describe('ui store', () => {
  it('loads the app info from main', async () => {
    const ui = useUiStore();
    await ui.loadAppInfo();
    expect(ui.appInfo).toMatchObject({ name: 'trackED', host: 'test-host' });
  });

  it('switches tabs, tools and brush size within bounds, toggles panels', async () => {
    const ui = useUiStore();
    const tools = useMaskToolsStore();
    await ui.runCommand('view.tab.export');
    expect(ui.activeTab).toBe('export');
    await ui.runCommand('masks.toolPolygon');
    expect(tools.tool).toBe('polygon');
    await ui.runCommand('masks.toolPointNegative');
    expect(tools.tool).toBe('pointNegative');
    tools.brushSize = 1;
    await ui.runCommand('masks.brushSmaller');
    expect(tools.brushSize).toBe(1);
    tools.brushSize = 64;
    await ui.runCommand('masks.brushLarger');
    expect(tools.brushSize).toBe(64);
    const log = ui.logVisible;
    await ui.runCommand('view.toggleLog');
    expect(ui.logVisible).toBe(!log);
    await ui.runCommand('help.shortcuts');
    expect(ui.shortcutsVisible).toBe(true);
  });

  it('steps through the tilts of the open series', async () => {
    await useSeriesStore().open(fx.manifest());
    const ui = useUiStore();
    await ui.runCommand('series.firstTilt');
    expect(useSeriesStore().active!.tilt).toBe(0);
    await ui.runCommand('series.nextTilt');
    expect(useSeriesStore().active!.tilt).toBe(1);
    await ui.runCommand('series.lastTilt');
    expect(useSeriesStore().active!.tilt).toBe(TILTS - 1);
  });

  it('file.open without a native dialog logs why and stays up', async () => {
    const ui = useUiStore();
    await ui.runCommand('file.open');
    expect(ui.activeTab).toBe('series');
  });
});
