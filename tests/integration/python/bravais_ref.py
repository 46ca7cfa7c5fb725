"""Reference Bravais-lattice searches with cctbx (the library behind dials.refine_bravais_settings).

stdin: JSON list of cells [a, b, c, alpha, beta, gamma] (any primitive setting); stdout: JSON list, per cell,
{"niggli": [...], "settings": [{"bravais": "oP", "delta": 0.02}, ...]} for max_delta given as argv[1].
"""
import json
import sys

from cctbx import crystal
from cctbx.sgtbx import bravais_types, lattice_symmetry

max_delta = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
out = []
for cell in json.load(sys.stdin):
    cs = crystal.symmetry(unit_cell=cell, space_group_symbol="P1")
    niggli = cs.unit_cell().niggli_cell()
    groups = lattice_symmetry.metric_subgroups(cs, max_delta=max_delta).result_groups
    settings = []
    for g in groups:
        sym = str(bravais_types.bravais_lattice(group=g["best_subsym"].space_group()))
        settings.append({"bravais": sym, "delta": g["max_angular_difference"], "cell": list(g["best_subsym"].unit_cell().parameters())})
    out.append({"niggli": list(niggli.parameters()), "settings": settings})
json.dump(out, sys.stdout)
