"""Kinematic R1 of the true structure against a merged reflection file, by cctbx.

stdin: JSON {"hkl": path to the HKLF 4 file, "ins": path to the .ins (cell and space group of the file),
             "structure": path to the structure's CIF, "reindex": 3x3 integer matrix M with h_structure = M·h_file}
stdout: JSON {"r1": R1(F) over reflections with Fo^2 > 0 ... , "scale": k, "b": overall B (A^2), "n": merged count,
              "cc": correlation of Fo^2 with k·Fc^2}

Only the scale and an overall B are refined (least squares on Fo^2): the structure itself is the truth.
Electron scattering factors: cctbx's "electron" table (Peng).
"""
import json
import sys

import numpy as np
from cctbx import crystal, miller, xray
from cctbx.array_family import flex
from iotbx import cif as iotbx_cif
from iotbx.shelx import crystal_symmetry_from_ins, hklf

req = json.load(sys.stdin)
xs = list(iotbx_cif.reader(file_path=req["structure"]).build_crystal_structures().values())[0]
xs.scattering_type_registry(table="electron")
sym_file = crystal_symmetry_from_ins.extract_from(req["ins"])
reader = hklf.reader(file_name=req["hkl"])
obs = reader.as_miller_arrays(crystal_symmetry=sym_file)[0]
M = np.array(req["reindex"], dtype=int)
idx = np.array(list(obs.indices()), dtype=int)
h_struct = (M @ idx.T).T
ms = miller.set(crystal_symmetry=xs.crystal_symmetry(), indices=flex.miller_index([tuple(int(v) for v in h) for h in h_struct]), anomalous_flag=False)
fo2 = miller.array(ms, data=obs.data(), sigmas=obs.sigmas()).set_observation_type_xray_intensity()
fo2 = fo2.merge_equivalents().array()
fc2 = fo2.structure_factors_from_scatterers(xs, algorithm="direct").f_calc().intensities()
I = np.array(fo2.data())
S = np.array(fo2.sigmas())
C = np.array(fc2.data())
s2 = np.array([1.0 / (d * d) / 4.0 for d in fo2.d_spacings().data()])
best = None
for B in np.arange(-3.0, 3.0001, 0.02):
    model = C * np.exp(-2 * B * s2)
    w = 1.0 / np.maximum(S, 1e-9) ** 2
    k = float((w * I * model).sum() / (w * model * model).sum())
    chi = float((w * (I - k * model) ** 2).sum())
    if best is None or chi < best[0]:
        best = (chi, k, B)
_, k, B = best
model = k * C * np.exp(-2 * B * s2)
fo = np.sqrt(np.maximum(I, 0))
fc = np.sqrt(model)
r1 = float(np.abs(fo - fc).sum() / fo.sum())
print(json.dumps({"r1": r1, "scale": k, "b": float(B), "n": int(len(I)), "cc": float(np.corrcoef(I, model)[0, 1])}))
