"""An HKLF 4 file (trackED's or DIALS') against the generator's kinematic |F|^2, for bench/integrate.ts.

stdin: JSON {"hkl": path, "ins": the .ins beside it (its CELL line gives the cell of the file's indices),
             "truth": [{"id", "cell": [six numbers], "UB": 3x3, "f2": path to truth/F2_<id>.json}, ...],
             optional "ub": UB of the file's indices in the generator's lab frame (3x3), used only as a check}
stdout: JSON {"R", "cc", "n", "nRows", "negativeFraction", "particle", "reindex", "nSettings", "viaUb"}

Reindexing, the same for every file: every integer matrix M (entries -2..2, h_truth = M.h_file) whose metric maps
the file's reciprocal cell onto a particle's (M^T G*_truth M = G*_file within 3 % of the lengths) is tried, and the
one whose rows correlate best with |F|^2 is kept (they differ only by the truth's Laue symmetry, or by a metric
pseudo-symmetry that the correlation resolves). Rows are matched to the truth by h_truth or -h_truth.
R = sum|I - k F^2| / sum|I| with the least-squares k; cc is Pearson's of I with F^2; n the rows matched.
"viaUb": with "ub", M = round(UB_truth^-1 . D . UB) over the axis-sign choices D (the mirrored axis direction),
the reindexing of tests/integration/integrate.spec.ts, and the R it gives, to confirm the cell-based choice.
"""
import itertools
import json
import sys

import numpy as np


def reciprocal_metric(cell):
    a, b, c, al, be, ga = cell
    ca, cb, cg = (np.cos(np.radians(x)) for x in (al, be, ga))
    g = np.array([[a * a, a * b * cg, a * c * cb], [a * b * cg, b * b, b * c * ca], [a * c * cb, b * c * ca, c * c]])
    return np.linalg.inv(g)


def read_hklf4(path):
    hkl, rows = [], []
    for line in open(path):
        if len(line.rstrip("\n")) < 28:
            continue
        h = [int(line[o : o + 4]) for o in (0, 4, 8)]
        if h == [0, 0, 0]:
            continue
        hkl.append(h)
        rows.append((float(line[12:20]), float(line[20:28])))
    return np.array(hkl, dtype=int), np.array(rows, dtype=float)


def settings(g_file, g_truth, tol=0.03):
    """Integer M with M^T g_truth M = g_file within tol of the lengths (columns from -2..2 combinations)."""
    vecs = [np.array(v) for v in itertools.product(range(-2, 3), repeat=3) if any(v)]
    length = np.sqrt(np.diag(g_file))
    cols = [[v for v in vecs if abs(np.sqrt(v @ g_truth @ v) - length[k]) <= tol * length[k]] for k in range(3)]
    out = []
    for trio in itertools.product(*cols):
        m = np.stack(trio, axis=1)
        if round(abs(np.linalg.det(m))) == 0:
            continue
        d = m.T @ g_truth @ m - g_file
        if np.all(np.abs(d) <= tol * np.outer(length, length)):
            out.append(m)
    return out


def agreement(hkl, rows, f2, m):
    ht = hkl @ m.T
    sel, model = [], []
    for i, h in enumerate(ht):
        v = f2.get(tuple(h))
        if v is None:
            v = f2.get(tuple(-h))
        if v is not None:
            sel.append(i)
            model.append(v)
    if len(sel) < 3:
        return None
    i_obs, model = rows[sel, 0], np.array(model)
    k = (i_obs @ model) / (model @ model)
    return {
        "R": float(np.abs(i_obs - k * model).sum() / np.abs(i_obs).sum()),
        "cc": float(np.corrcoef(i_obs, model)[0, 1]),
        "n": len(sel),
    }


req = json.load(sys.stdin)
hkl, rows = read_hklf4(req["hkl"])
cell_line = next(line for line in open(req["ins"]) if line.upper().startswith("CELL"))
g_file = reciprocal_metric([float(x) for x in cell_line.split()[2:8]])
best = None
n_settings = 0
truth_f2 = {}
for p in req["truth"]:
    f2 = {(int(r[0]), int(r[1]), int(r[2])): float(r[3]) for r in json.load(open(p["f2"]))}
    truth_f2[p["id"]] = f2
    for m in settings(g_file, reciprocal_metric(p["cell"])):
        n_settings += 1
        a = agreement(hkl, rows, f2, m)
        if a and (best is None or a["cc"] > best["cc"] + 1e-9):
            best = {**a, "particle": p["id"], "reindex": m.tolist()}
out = {"R": None, "cc": None, "n": 0, "particle": None, "reindex": None, **(best or {})}
out.update({"nRows": len(hkl), "negativeFraction": float((rows[:, 0] < 0).mean()) if len(hkl) else None, "nSettings": n_settings})
if req.get("ub") is not None:
    ub = np.array(req["ub"], dtype=float)
    check = None
    for p in req["truth"]:
        for d in ([1, 1, 1], [1, 1, -1], [-1, -1, 1], [-1, -1, -1]):
            m = np.linalg.inv(np.array(p["UB"], dtype=float)) @ np.diag(d) @ ub
            err = float(np.abs(m - np.round(m)).max())
            if check is None or err < check["err"]:
                check = {"err": err, "m": np.round(m).astype(int), "id": p["id"]}
    a = agreement(hkl, rows, truth_f2[check["id"]], check["m"])
    out["viaUb"] = {"R": a["R"] if a else None, "particle": check["id"], "reindex": check["m"].tolist(), "maxNonInteger": check["err"]}
print(json.dumps(out))
