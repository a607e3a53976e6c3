"""Estimate the shipped reference prior of the noise model from the bundled corpus.

    python benchmarks/reference_prior.py            # prints the table
    python benchmarks/reference_prior.py --write    # writes analysis/reference_prior.csv

Each bundled dataset on the model-size axis is read as the workflow reads it
(its settings from workflow/config.yaml); every family's own estimates come
from `noise.family_estimates` (the scatter τ̂² of known-noise families, with
the benchmark catalogue's item counts filled in as the workflow fills them;
the residual variance of the families whose tables give no item counts, read
as written, since that prior is for such tables; each on its models' dof). The
prior's scale s₀² comes from their dof-weighted mean (each family's estimate
is unbiased for its own variance up to the truncation at 0) by the moments of
the prior itself: a scaled-inverse-χ² on d₀ dof with scale s₀² has mean
s₀²·d₀/(d₀ − 2), so s₀² = mean·(d₀ − 2)/d₀ (the scale is what the posterior
and the tests' t on d₀ + d dof use: a normal whose variance has that prior is
t on d₀ dof with scale s₀²). Its
weight, `PRIOR_DOF`, is a choice, not an estimate: the corpus's families
disagree (τ̂ from 0 to 0.026 on 1-5 dof each), and Smyth's (2004) moment fit
of the prior's dof to them is unstable (2 to ∞ depending on how the zeros are
offset), so the prior counts for as much as four models of one family: a
one-paper 4-size table (1 dof of its own) rests mostly on it, an 8-size family
with several tasks (5 dof) mostly on itself. The training-checkpoint table is
left out: its "models" are one model's checkpoints.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.curves import to_batch  # noqa: E402
from analysis.noise import PRIOR_FILE, ReferencePrior, family_estimates, reference_priors  # noqa: E402
from analysis.pipeline import _fitted, prepare_points  # noqa: E402
from analysis.settings import Settings, for_dataset  # noqa: E402

#: what the prior counts for, in dof (models): a choice, see the module's docstring
PRIOR_DOF = 4.0


def moment_level(v: np.ndarray, d: np.ndarray) -> float:
    """The dof-weighted mean of the families' variances."""
    return float((v * d).sum() / d.sum())


def corpus_estimates(config: dict) -> pd.DataFrame:
    """Every family's own estimates, over the bundled datasets on the params axis."""
    rows = []
    priors = reference_priors()
    for csv in sorted((ROOT / "data").glob("*.csv")):
        s = Settings.from_config(for_dataset(config, csv.stem))
        if s.x_axis != "params" or s.split_by:
            continue
        # the scatter as the workflow reads the table (the catalogue's item counts filled in); the residual
        # variance from the table as written: it is the prior of curves that come without item counts
        for catalogue, terms in ((True, ("scatter",)), (False, ("residual",))):
            curves, points, _ = prepare_points(csv, s.x_axis, s.split_by, dataset=csv.stem, label=str(csv),
                                               catalogue=catalogue)
            todo = _fitted(curves, s)
            if not len(todo):
                continue
            names, group = np.unique(todo["family"].to_numpy(), return_inverse=True)
            fam = family_estimates(to_batch(todo, points), group, s, priors)
            for g, name in enumerate(names):
                rows.append({"dataset": csv.stem, "family": name, "curves": int(fam.curves[g]),
                             **{t: getattr(fam, t)[g] for t in terms},
                             **{f"{t}_dof": getattr(fam, f"{t}_dof")[g] for t in terms}})
        print(f"{csv.stem}: {len(todo)} curves, {len(names)} families", file=sys.stderr)
    return pd.DataFrame(rows)


#: the prior's terms: what each describes (the sd is filled in)
TERMS = {"scatter": "scale tau0^2 of the scatter between a family's models at 50 % (sd {sd:.4f}), from {n} "
                    "families with stderr or item counts",
         "residual": "scale of the residual variance at 50 % of bounded scores without stderr or item counts "
                     "(sd {sd:.4f}), from {n} families"}


def prior_table(est: pd.DataFrame) -> pd.DataFrame:
    out = []
    for term, what in TERMS.items():
        use = est[(est[f"{term}_dof"] > 0) & est[term].notna()]
        if len(use):
            mean = moment_level(use[term].to_numpy(float), use[f"{term}_dof"].to_numpy(float))
            level = mean * (PRIOR_DOF - 2) / PRIOR_DOF
            out.append({"term": term, "value": level, "dof": PRIOR_DOF, "families": len(use),
                        "what": what.format(sd=np.sqrt(level), n=len(use))})
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help=f"write {PRIOR_FILE.relative_to(ROOT)}")
    ap.add_argument("--families", help="also write every family's estimates to this CSV")
    args = ap.parse_args()
    config = yaml.safe_load((ROOT / "workflow" / "config.yaml").read_text())
    est = corpus_estimates(config)
    if args.families:
        est.to_csv(args.families, index=False)
    table = prior_table(est)
    print(table.to_string(index=False))
    for r in table.itertuples():
        assert ReferencePrior(r.value, r.dof).value >= 0
    if args.write:
        with open(PRIOR_FILE, "w") as f:
            f.write("# The noise model's reference prior, estimated from the bundled corpus by\n"
                    "# benchmarks/reference_prior.py (docs/METHODS.md 2.2). Regenerate it, do not edit it.\n")
            table.to_csv(f, index=False)


if __name__ == "__main__":
    main()
