// Relativistic electron wavelength and the Lorentz factor (ARCHITECTURE §4).
import { ParameterError } from '../../src-shared/errors';
import { ELECTRON_MASS_KG, ELEMENTARY_CHARGE_C, PLANCK_J_S, SPEED_OF_LIGHT_M_S } from './constants';

function checkVoltage(voltageKV: number): void {
  if (!Number.isFinite(voltageKV) || voltageKV <= 0 || voltageKV > 10_000) {
    throw new ParameterError('voltageKV', `must be a positive accelerating voltage in kV (got ${voltageKV})`);
  }
}

/** λ = h / sqrt(2 m₀ e V (1 + e V / (2 m₀ c²))), in Å. 200 kV → 0.02508 Å. */
export function electronWavelengthA(voltageKV: number): number {
  checkVoltage(voltageKV);
  const eV = ELEMENTARY_CHARGE_C * voltageKV * 1e3; // kinetic energy, J
  const m0c2 = ELECTRON_MASS_KG * SPEED_OF_LIGHT_M_S * SPEED_OF_LIGHT_M_S;
  const p = Math.sqrt(2 * ELECTRON_MASS_KG * eV * (1 + eV / (2 * m0c2)));
  return (PLANCK_J_S / p) * 1e10;
}

/**
 * γ = 1 + eV / (m₀c²). Electron scattering factors in the tables are for the rest mass; the
 * scattering potential seen by a fast electron is larger by γ (interaction constant σ ∝ γλ).
 */
export function lorentzGamma(voltageKV: number): number {
  checkVoltage(voltageKV);
  const eV = ELEMENTARY_CHARGE_C * voltageKV * 1e3;
  return 1 + eV / (ELECTRON_MASS_KG * SPEED_OF_LIGHT_M_S * SPEED_OF_LIGHT_M_S);
}
