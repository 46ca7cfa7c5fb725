"""What DIALS made of trackED's SMV export, for tests/integration/dials.spec.ts (run with Debian's python3).

usage: dials_result.py SMV_DIR TRUTH_JSON
Prints JSON: the number of sequences dials.import built, the number of strong spots, the indexed cell, and per
particle of the ground truth whether that cell matches the particle's reduced primitive cell within 1 % and 1 degree
(cctbx: Niggli cells compared with unit_cell.similarity_transformations).
"""
import json
import os
import sys

from cctbx import crystal
from dials.array_family import flex  # noqa: F401  (registers the reflection table type)
from dials.array_family.flex import reflection_table
from dxtbx.model.experiment_list import ExperimentListFactory

smv, truth_path = sys.argv[1], sys.argv[2]
out = {"sequences": None, "strongSpots": None, "cell": None, "indexed": None, "matches": []}
imported = ExperimentListFactory.from_json_file(os.path.join(smv, "imported.expt"), check_format=False)
out["sequences"] = len(imported.imagesets())
out["images"] = [len(s) for s in imported.imagesets()]
if os.path.exists(os.path.join(smv, "strong.refl")):
    out["strongSpots"] = len(reflection_table.from_file(os.path.join(smv, "strong.refl")))
indexed = os.path.join(smv, "indexed.expt")
if os.path.exists(indexed):
    el = ExperimentListFactory.from_json_file(indexed, check_format=False)
    uc = el[0].crystal.get_unit_cell()
    out["cell"] = list(uc.parameters())
    refl = os.path.join(smv, "indexed.refl")
    if os.path.exists(refl):
        t = reflection_table.from_file(refl)
        out["indexed"] = int((t["id"] >= 0).count(True))
    truth = json.load(open(truth_path))
    for p in truth["particles"]:
        c = p["cell"]
        cs = crystal.symmetry(unit_cell=(c["a"], c["b"], c["c"], c["alpha"], c["beta"], c["gamma"]), space_group_symbol=p["spaceGroup"])
        ref = cs.primitive_setting().niggli_cell().unit_cell()
        ok = len(ref.similarity_transformations(other=uc.niggli_cell(), relative_length_tolerance=0.01, absolute_angle_tolerance=1.0)) > 0
        out["matches"].append({"id": p["id"], "spaceGroup": p["spaceGroup"], "reduced": list(ref.parameters()), "match": ok})
print(json.dumps(out))
