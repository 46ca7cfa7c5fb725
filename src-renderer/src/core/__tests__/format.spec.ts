import { describe, expect, it } from 'vitest';
import { constantStep, formatBytes, formatRange, formatSignificant } from '../format';

describe('format', () => {
  it('bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GB');
  });
  it('a wavelength to a sensible precision, not 18 digits', () => {
    expect(formatSignificant(0.02507934054576825, 5)).toBe('0.025079');
    expect(formatSignificant(200)).toBe('200');
    expect(formatSignificant(1.2e-6, 3)).toBe('1.20e-6');
  });
  it('ranges of finite values', () => {
    expect(formatRange([3, NaN, 1, 2], 3, 'px')).toBe('1 … 3 px');
    expect(formatRange([5, 5])).toBe('5');
    expect(formatRange([NaN])).toBe('–');
  });
  it('the tilt step when constant', () => {
    expect(constantStep([-1, -0.5, 0, 0.5])).toBe(0.5);
    expect(constantStep([0, 1, 3])).toBeNull();
    expect(constantStep([0])).toBeNull();
  });
});
