import { describe, expect, it } from 'vitest';
import { APP_COMMANDS } from '../../../../src-shared/contract';
import { SHORTCUTS, isEditableTarget, matchShortcut, type KeyLike } from '../shortcuts';

const key = (k: string, mods: Partial<KeyLike> = {}): KeyLike => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe('shortcut registry', () => {
  it('matches modified and plain keys to their commands', () => {
    expect(matchShortcut(key('z', { ctrlKey: true }))?.command).toBe('edit.undo');
    expect(matchShortcut(key('Z', { ctrlKey: true, shiftKey: true }))?.command).toBe('edit.redo');
    expect(matchShortcut(key('z', { metaKey: true }))?.command).toBe('edit.undo');
    expect(matchShortcut(key('3'))?.command).toBe('view.tab.patterns');
    expect(matchShortcut(key('?', { shiftKey: true }))?.command).toBe('help.shortcuts');
    expect(matchShortcut(key('z'))).toBeUndefined();
    expect(matchShortcut(key('ArrowRight'))?.command).toBe('series.nextTilt');
    expect(matchShortcut(key(' '))?.command).toBe('series.play');
    expect(matchShortcut(key('End'))?.command).toBe('series.lastTilt');
    expect(matchShortcut(key('3', { ctrlKey: true }))).toBeUndefined();
  });

  it('has no two shortcuts on the same keys, and only contract commands', () => {
    const keys = SHORTCUTS.map((s) => s.keys);
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of SHORTCUTS) expect(APP_COMMANDS).toContain(s.command);
  });

  it('lets shortcuts through on a focused slider or checkbox, but not its own arrows, and never while typing', () => {
    const el = (tagName: string, type?: string): EventTarget => ({ tagName, type, isContentEditable: false }) as unknown as EventTarget;
    expect(isEditableTarget(el('INPUT', 'range'), 'l')).toBe(false);
    expect(isEditableTarget(el('INPUT', 'range'), 'ArrowLeft')).toBe(true);
    expect(isEditableTarget(el('INPUT', 'checkbox'), 'b')).toBe(false);
    expect(isEditableTarget(el('INPUT', 'text'), 'b')).toBe(true);
    expect(isEditableTarget(el('INPUT', 'number'), '2')).toBe(true);
    expect(isEditableTarget(el('TEXTAREA'), 'b')).toBe(true);
    expect(isEditableTarget(el('SELECT'), 'b')).toBe(true);
    expect(isEditableTarget(el('DIV'), 'b')).toBe(false);
  });
});
