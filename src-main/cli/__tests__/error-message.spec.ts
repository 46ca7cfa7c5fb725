// What `tracked` prints for a failure: the cause of an HDF5 error, the file a failed rename was for, a plain sentence
// for an engine error, and never a control character from the input.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src-shared/errors';
import { cliErrorMessage, printable } from '../error-message';

describe('cliErrorMessage', () => {
  it('keeps the innermost cause of an HDF5 diagnostic', () => {
    const e = new Error('HDF5-DIAG: Error detected in HDF5 (2.0.0):\n  #000: H5F.c line 836 in H5Fopen(): unable to synchronously open file\n  #001: H5Fsuper.c line 421 in H5F__super_read(): truncated file: eof = 1024, sblock->base_addr = 0');
    expect(cliErrorMessage(e)).toBe('HDF5: H5F__super_read(): truncated file: eof = 1024, sblock->base_addr = 0');
  });

  it('names the file a temporary file stood for', () => {
    const e = Object.assign(new Error("EISDIR: illegal operation on a directory, rename '/out/.dir.h5.tmp-12-3' -> '/out/dir.h5'"), { code: 'EISDIR', path: '/out/.dir.h5.tmp-12-3', dest: '/out/dir.h5' });
    expect(cliErrorMessage(e)).toBe('/out/dir.h5: is a folder, not a file');
    const enoent = Object.assign(new Error('ENOENT'), { code: 'ENOENT', path: '/x/.v.h5.tmp-1-1' });
    expect(cliErrorMessage(enoent)).toBe('/x/v.h5: does not exist');
  });

  it('turns engine errors into a sentence and keeps typed errors as they are', () => {
    expect(cliErrorMessage(new RangeError('Invalid typed array length: -4'))).toMatch(/^the input could not be read \(it may be truncated or malformed\): Invalid typed array length/);
    expect(cliErrorMessage(new InputError('/d/a.mib', 'header says 256 × 256 but the file holds 12 frames'))).toBe('InputError: /d/a.mib: header says 256 × 256 but the file holds 12 frames');
  });

  it('never passes escape sequences through', () => {
    const e = new InputError('/d/tilts.csv', 'unknown column "\u001b[31mangle\u001b[0m"');
    expect(cliErrorMessage(e).includes(String.fromCharCode(27))).toBe(false);
    expect(printable('a\u0007b\u009bc\td')).toBe('a�b�c\td');
  });
});
