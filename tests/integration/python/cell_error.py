"""Cell errors against a true cell after reduction to the same setting (cctbx), for the processing tests and bench.

stdin: JSON {"truth": [a, b, c, al, be, ga], "spaceGroup": "C 1 2/m 1", "cells": [[a, b, c, al, be, ga], ...]}
(each cell a primitive or conventional P setting of the lattice found; give primitive cells).
stdout: JSON list, per cell, {"lengthPct": max relative length error in %, "angleDeg": max angle error} after
mapping the cell's Niggli cell onto the truth's reduced primitive cell (the best of cctbx's similarity
transformations), or null when no setting is within 5 % and 5 degrees.
"""
import json
import sys

from cctbx import crystal, sgtbx, uctbx

req = json.load(sys.stdin)
ref = crystal.symmetry(unit_cell=req["truth"], space_group_symbol=req["spaceGroup"]).primitive_setting().niggli_cell().unit_cell()
out = []
for c in req["cells"]:
    other = uctbx.unit_cell(c).niggli_cell()
    best = None
    for m in ref.similarity_transformations(other=other, relative_length_tolerance=0.05, absolute_angle_tolerance=5):
        t = other.change_basis(sgtbx.change_of_basis_op(sgtbx.rt_mx(sgtbx.rot_mx(m, 1))))
        p, q = t.parameters(), ref.parameters()
        err = {
            "lengthPct": max(abs(p[i] - q[i]) / q[i] * 100 for i in range(3)),
            "angleDeg": max(abs(p[i] - q[i]) for i in range(3, 6)),
        }
        if best is None or max(err["lengthPct"] / 0.15, err["angleDeg"] / 0.1) < max(best["lengthPct"] / 0.15, best["angleDeg"] / 0.1):
            best = err
    out.append(best)
json.dump(out, sys.stdout)
