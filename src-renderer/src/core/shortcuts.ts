// The one registry of keyboard shortcuts. The help overlay lists it; the keydown handler matches it;
// the native menu shows the same keys (and sends the same commands through IPC).
import type { AppCommand } from '../../../src-shared/contract';

export interface Shortcut {
  command: AppCommand;
  /** Keys as written for people: 'Ctrl+Shift+Z', '?', '1'. 'Ctrl' means Cmd on macOS. */
  keys: string;
  label: string;
  group: 'File' | 'Edit' | 'View' | 'Series' | 'Masks' | 'Help';
}

export const SHORTCUTS: readonly Shortcut[] = [
  { command: 'file.open', keys: 'Ctrl+O', label: 'Open a tilt series', group: 'File' },
  { command: 'file.openProject', keys: 'Ctrl+Shift+O', label: 'Open a project folder (its series, masks and results)', group: 'File' },
  { command: 'file.saveProjectAs', keys: 'Ctrl+Shift+S', label: 'Save the project as… (a new folder)', group: 'File' },
  { command: 'file.inspect', keys: 'Ctrl+I', label: 'Inspect a file', group: 'File' },
  { command: 'series.prevTilt', keys: 'ArrowLeft', label: 'Previous tilt', group: 'Series' },
  { command: 'series.nextTilt', keys: 'ArrowRight', label: 'Next tilt', group: 'Series' },
  { command: 'series.firstTilt', keys: 'Home', label: 'First tilt', group: 'Series' },
  { command: 'series.lastTilt', keys: 'End', label: 'Last tilt', group: 'Series' },
  { command: 'series.play', keys: 'Space', label: 'Play / pause the tilt series', group: 'Series' },
  { command: 'masks.toolBrush', keys: 'B', label: 'Brush', group: 'Masks' },
  { command: 'masks.toolEraser', keys: 'E', label: 'Eraser', group: 'Masks' },
  { command: 'masks.toolPolygon', keys: 'P', label: 'Polygon / lasso fill (Enter closes, Esc cancels)', group: 'Masks' },
  { command: 'masks.toolFill', keys: 'F', label: 'Flood fill', group: 'Masks' },
  { command: 'masks.toolPointPositive', keys: 'A', label: 'Positive prompt point', group: 'Masks' },
  { command: 'masks.toolPointNegative', keys: 'N', label: 'Negative prompt point', group: 'Masks' },
  { command: 'masks.toolBox', keys: 'R', label: 'Prompt box', group: 'Masks' },
  { command: 'masks.brushSmaller', keys: '[', label: 'Brush one pixel smaller', group: 'Masks' },
  { command: 'masks.brushLarger', keys: ']', label: 'Brush one pixel larger', group: 'Masks' },
  { command: 'masks.fillHoles', keys: 'H', label: 'Fill holes', group: 'Masks' },
  { command: 'masks.grow', keys: '=', label: 'Grow by one pixel', group: 'Masks' },
  { command: 'masks.shrink', keys: '-', label: 'Shrink by one pixel', group: 'Masks' },
  { command: 'masks.clear', keys: 'Delete', label: 'Clear this frame', group: 'Masks' },
  { command: 'masks.copyPrevious', keys: 'Ctrl+ArrowLeft', label: 'Copy the mask of the previous tilt', group: 'Masks' },
  { command: 'masks.copyNext', keys: 'Ctrl+ArrowRight', label: 'Copy the mask of the next tilt', group: 'Masks' },
  { command: 'masks.toggleLock', keys: 'L', label: 'Lock / unlock this frame', group: 'Masks' },
  { command: 'masks.nextToCheck', keys: 'C', label: 'Next frame to check (lost or flagged) of the active object', group: 'Masks' },
  { command: 'masks.toggleExclude', keys: 'X', label: 'Exclude / include this frame in extraction', group: 'Masks' },
  { command: 'masks.retrackForward', keys: 'T', label: 'Re-track forward from this frame', group: 'Masks' },
  { command: 'masks.retrackBackward', keys: 'Shift+T', label: 'Re-track backward from this frame', group: 'Masks' },
  { command: 'masks.zoomFit', keys: '0', label: 'Zoom to fit', group: 'Masks' },
  { command: 'edit.undo', keys: 'Ctrl+Z', label: 'Undo (the detector on the Series tab, mask edits elsewhere)', group: 'Edit' },
  { command: 'edit.redo', keys: 'Ctrl+Shift+Z', label: 'Redo (the detector on the Series tab, mask edits elsewhere)', group: 'Edit' },
  { command: 'view.tab.series', keys: '1', label: 'Series tab', group: 'View' },
  { command: 'view.tab.masks', keys: '2', label: 'Masks tab', group: 'View' },
  { command: 'view.tab.patterns', keys: '3', label: 'Patterns tab', group: 'View' },
  { command: 'view.tab.processing', keys: '4', label: 'Processing tab', group: 'View' },
  { command: 'view.tab.reciprocal', keys: '5', label: 'Reciprocal space tab', group: 'View' },
  { command: 'view.tab.export', keys: '6', label: 'Export tab', group: 'View' },
  { command: 'view.toggleLog', keys: 'Ctrl+L', label: 'Show or hide the log', group: 'View' },
  { command: 'help.shortcuts', keys: '?', label: 'Keyboard shortcuts', group: 'Help' },
];

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** Parses 'Ctrl+Shift+Z' into its parts. */
function parse(keys: string): { key: string; ctrl: boolean; shift: boolean; alt: boolean } {
  const parts = keys.split('+');
  const key = parts[parts.length - 1]!;
  return {
    key: key.toLowerCase(),
    ctrl: parts.includes('Ctrl'),
    shift: parts.includes('Shift'),
    alt: parts.includes('Alt'),
  };
}

/** The shortcut a key event triggers, if any. Pure, so it is tested without a browser. */
export function matchShortcut(event: KeyLike, shortcuts: readonly Shortcut[] = SHORTCUTS): Shortcut | undefined {
  const ctrl = event.ctrlKey || event.metaKey;
  const key = event.key === ' ' ? 'space' : event.key.toLowerCase();
  return shortcuts.find((s) => {
    const p = parse(s.keys);
    if (p.key !== key || p.ctrl !== ctrl || p.alt !== event.altKey) return false;
    // Printable symbols such as '?' already imply Shift on most layouts.
    return p.key.length === 1 && !/[a-z0-9]/.test(p.key) ? true : p.shift === event.shiftKey;
  });
}

/** Inputs that take no typing: shortcuts work while one has focus (a slider keeps its own arrow keys). */
const NON_TEXT_INPUTS = new Set(['range', 'checkbox', 'radio', 'button', 'submit', 'reset', 'color', 'file', 'image']);
const SLIDER_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown']);

/** True when the focused element takes this key itself (typing in a field, a slider's arrows): no shortcut then. */
export function isEditableTarget(target: EventTarget | null, key?: string): boolean {
  if (!target || typeof (target as HTMLElement).tagName !== 'string') return false;
  const el = target as HTMLElement;
  if (el.tagName === 'INPUT') {
    const type = ((el as HTMLInputElement).type || 'text').toLowerCase();
    if (type === 'range') return key !== undefined && SLIDER_KEYS.has(key);
    return !NON_TEXT_INPUTS.has(type);
  }
  return el.isContentEditable || ['TEXTAREA', 'SELECT'].includes(el.tagName);
}
