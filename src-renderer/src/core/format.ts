// Numbers as the Properties panel and the logs show them: bytes in binary units, physical values with the precision
// that means something (a wavelength to 5 significant figures, not 18 digits), ranges and counts.

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** `v` to `digits` significant figures, without trailing zeros or exponent for everyday magnitudes. */
export function formatSignificant(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const s = Number(v.toPrecision(digits));
  return Math.abs(s) >= 1e-4 && Math.abs(s) < 1e7 ? String(s) : s.toExponential(digits - 1);
}

/** "a … b" of the finite values, or "–" when there is none. */
export function formatRange(values: readonly number[], digits = 4, unit = ''): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '–';
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const u = unit ? ` ${unit}` : '';
  return lo === hi ? `${formatSignificant(lo, digits)}${u}` : `${formatSignificant(lo, digits)} … ${formatSignificant(hi, digits)}${u}`;
}

/** The step between consecutive angles when it is constant (to 1e-6°), else null. */
export function constantStep(anglesDeg: readonly number[]): number | null {
  if (anglesDeg.length < 2) return null;
  const step = anglesDeg[1] - anglesDeg[0];
  for (let i = 2; i < anglesDeg.length; i++) if (Math.abs(anglesDeg[i] - anglesDeg[i - 1] - step) > 1e-6) return null;
  return step;
}

/** Calibration fields as a person reads them: a name and the value with its unit (unknown keys keep their name). */
const CALIBRATION: Record<string, { label: string; format: (v: number) => string }> = {
  voltageKV: { label: 'Voltage', format: (v) => `${formatSignificant(v, 4)} kV` },
  wavelengthA: { label: 'λ', format: (v) => `${formatSignificant(v, 5)} Å` },
  realPixelNm: { label: 'Probe step', format: (v) => `${formatSignificant(v, 4)} nm` },
  reciprocalPixelInvA: { label: 'Detector pixel', format: (v) => `${formatSignificant(v, 4)} Å⁻¹` },
  cameraLengthM: { label: 'Camera length', format: (v) => `${formatSignificant(v, 4)} m` },
  rotationAxisDeg: { label: 'Rotation axis', format: (v) => `${formatSignificant(v, 4)}°` },
  scanRotationDeg: { label: 'Scan rotation', format: (v) => `${formatSignificant(v, 4)}°` },
  dwellTimeS: { label: 'Dwell time', format: (v) => (v < 1e-3 ? `${formatSignificant(v * 1e6, 4)} µs` : `${formatSignificant(v * 1e3, 4)} ms`) },
  beamCurrentA: { label: 'Beam current', format: (v) => `${formatSignificant(v * 1e12, 4)} pA` },
};

export function calibrationRows(calibration: Readonly<Record<string, unknown>>): Array<readonly [string, string]> {
  return Object.entries(calibration)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => {
      const c = CALIBRATION[k];
      if (c && typeof v === 'number' && Number.isFinite(v)) return [c.label, c.format(v)] as const;
      return [k, typeof v === 'number' ? formatSignificant(v, 5) : String(v)] as const;
    });
}
