// Physical constants, CODATA 2018 (exact SI values where the 2019 SI fixes them).
// Kept in SI so the formulas read like the textbook; callers convert to Å at the edge.

/** Planck constant, J s (exact). */
export const PLANCK_J_S = 6.62607015e-34;
/** Elementary charge, C (exact). */
export const ELEMENTARY_CHARGE_C = 1.602176634e-19;
/** Electron rest mass, kg (CODATA 2018). */
export const ELECTRON_MASS_KG = 9.1093837015e-31;
/** Speed of light in vacuum, m/s (exact). */
export const SPEED_OF_LIGHT_M_S = 299792458;
