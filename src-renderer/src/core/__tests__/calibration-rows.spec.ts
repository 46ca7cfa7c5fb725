import { describe, expect, it } from 'vitest';
import { calibrationRows } from '../format';

describe('calibration as a person reads it', () => {
  it('names each field with its unit at a readable precision; unknown fields keep their name', () => {
    expect(
      calibrationRows({ voltageKV: 200, wavelengthA: 0.02507934055541932, realPixelNm: 4.25, reciprocalPixelInvA: 0.026041666666666668, rotationAxisDeg: 12.5, dwellTimeS: 0.001, vendorGain: 3.14159265, note: 'x', missing: undefined }),
    ).toEqual([
      ['Voltage', '200 kV'],
      ['λ', '0.025079 Å'],
      ['Probe step', '4.25 nm'],
      ['Detector pixel', '0.02604 Å⁻¹'],
      ['Rotation axis', '12.5°'],
      ['Dwell time', '1 ms'],
      ['vendorGain', '3.1416'],
      ['note', 'x'],
    ]);
  });
});
