// Crystallography core: structure model from CIF, lattice maths, scattering factors, kinematic F(hkl),
// wavelength and diffraction geometry. Pure functions; units in names.
export * from './math3';
export * from './constants';
export * from './wavelength';
export * from './lattice';
export * from './symmetry';
export * from './scattering';
export * from './cif';
export * from './structure-factor';
export * from './geometry';
export * from './structures';
