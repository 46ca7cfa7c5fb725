// SHELXL's long SFAC form (four Gaussians + c) refitted to the Peng five-Gaussian electron scattering factors: within
// 1 % of the Peng curve at every s from 0 to 2 Å⁻¹ (checked on a grid ten times finer than the fit's) for every
// element of the synthetic presets and the light ones, and the reported residual is the one measured here.
import { describe, expect, it } from 'vitest';
import { electronScatteringFactorA } from '../scattering';
import { fitSfac, sfacValue } from '../sfac-fit';

describe('fitSfac', () => {
  it.each(['H', 'C', 'O', 'Ti', 'Zn', 'Ga', 'Br', 'Mo', 'Cs', 'Pb'])('%s: four Gaussians + c within 1 % of Peng over 0 ≤ s ≤ 2 Å⁻¹', (element) => {
    const fit = fitSfac(element);
    let worst = 0;
    for (let k = 0; k <= 2000; k++) {
      const s = k / 1000;
      const peng = electronScatteringFactorA(element, s);
      worst = Math.max(worst, Math.abs(sfacValue(fit, s) / peng - 1));
    }
    expect(worst).toBeLessThan(0.01);
    expect(fit.maxRelativeError).toBeCloseTo(worst, 3);
    expect(fit.b.every((b, i) => b > 0 && (i === 0 || b > fit.b[i - 1]!))).toBe(true);
  });

  it('refuses an element the table lacks', () => {
    expect(() => fitSfac('Xx')).toThrow(/Xx/);
  });
});
