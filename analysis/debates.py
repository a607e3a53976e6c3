"""What the field argues about (METHODS.md section 4), beyond the labels.

* descriptive scores: BIG-bench linearity and breakthroughness (Srivastava
  et al. 2022, appendix) and Schaeffer et al.'s (2023) emergence score;
* the predictability backtest: fit the smooth models without the largest
  model and predict it;
* the mirage table: one family and task under several metrics, side by side;
* chain-of-thought as an ability of its own: where its gain turns positive;
* the compositional check: is exact match on L-step answers p^L?
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .curves import CurveBatch, bernoulli_sd
from .forecast import smooth_prediction, trend_of
from .noise import LINE, Noise
from .settings import Settings
from .stats.common import _crit, _sf
from .stats.sharp_rise import SMOOTH
from .vocabulary import plain_prompting

# ---------------------------------------------------------------- descriptive scores


def descriptive_scores(points: pd.DataFrame) -> pd.DataFrame:
    """Per curve, on the oriented score averaged per scale (sorted by scale).

    I = sign(argmax − argmin)·(max − min) is the improvement; linearity
    L = I / RMS(Δy) and breakthroughness B = I / root-median-square(Δy), with
    Δy the differences between consecutive scales. Schaeffer et al.'s
    emergence score, sign(argmax − argmin)·(max − min)/sqrt(median(Δy²)), is
    the same quantity as B; it is reported under its own name for readers of
    that paper.
    """
    rows = []
    means = points.groupby(["curve_id", "x"], sort=True)["y"].mean()
    for cid, y in means.groupby(level=0):
        y = y.to_numpy()
        if len(y) < 3:
            rows.append((cid, np.nan, np.nan, np.nan))
            continue
        d2 = np.diff(y) ** 2
        imp = np.sign(np.argmax(y) - np.argmin(y)) * (y.max() - y.min())
        with np.errstate(divide="ignore", invalid="ignore"):
            lin = imp / np.sqrt(d2.mean())
            brk = imp / np.sqrt(np.median(d2))
        rows.append((cid, lin, brk, brk))
    return pd.DataFrame(rows, columns=["curve_id", "linearity", "breakthroughness", "emergence_score"])


# ---------------------------------------------------------------- backtest


def backtest(batch: CurveBatch, noise: Noise, settings: Settings) -> pd.DataFrame:
    """The leave-largest-out backtest (`backtest_*`), and the same prediction of the largest model from
    the models below the two largest scales (`backtest2_*`: a longer extrapolation, nearer a forecast
    at 10x)."""
    one = held_out(batch, noise, settings, 1)
    two = held_out(batch, noise, settings, 2)
    return pd.concat([one, two[[c for c in two if c not in ("backtest_model", "backtest_trend")]]
                      .rename(columns=lambda c: c.replace("backtest_", "backtest2_"))], axis=1)


def held_out(batch: CurveBatch, noise: Noise, settings: Settings, drop: int) -> pd.DataFrame:
    """Predict each curve's largest model from the models below its `drop` largest scales with the
    smooth models.

    Needs at least min_scales + 1 distinct scales. The smooth models (role
    "smooth" in the registry) are fitted to the smaller models and averaged
    with their AICc weights (Burnham & Anderson 2002); the 95 % prediction
    interval holds each model's delta-method uncertainty, the spread between
    the models (model-selection uncertainty, Buckland et al. 1997) and the
    held-out point's noise, which includes the family's scatter. The curve is
    described by its trend on the training sizes only (`backtest_trend`), so
    that the coverage can be read per kind of curve without the label, which
    has seen the held-out model.
    """
    C = len(batch)
    x = batch.x
    xmax = batch.x_max
    held = batch.mask & (np.abs(x - xmax[:, None]) < 1e-12)
    train = CurveBatch(x, batch.y, batch.sigma, np.where(held, 0.0, batch.w), batch.chance,
                       batch.known_noise, batch.bounded, batch.n_items)
    for _ in range(drop - 1):        # and the next largest scales, out of the training models only
        below = train.mask & (np.abs(x - train.x_max[:, None]) < 1e-12)
        train = CurveBatch(x, batch.y, batch.sigma, np.where(below, 0.0, train.w), batch.chance,
                           batch.known_noise, batch.bounded, batch.n_items)
    ok = train.n_scales >= settings.min_scales
    scale, dof_t = noise.tests
    prediction = smooth_prediction(train, scale, xmax[:, None])
    ok &= prediction.ok
    weight, fits = prediction.weight, prediction.fits
    pred, se_fit = prediction.mean[:, 0], prediction.se[:, 0]
    pred = np.where(batch.bounded, np.clip(pred, 0.0, 1.0), pred)     # a bounded score never leaves [0, 1]
    m = held.sum(1)
    observed = np.where(held, batch.y, 0).sum(1) / np.maximum(m, 1)
    point_var = np.where(batch.known_noise,
                         scale * np.where(held, batch.sigma ** 2, 0).sum(1) / np.maximum(m, 1) ** 2,
                         scale / np.maximum(m, 1))
    half = _crit(np.where(np.isnan(dof_t), np.inf, dof_t)) * np.sqrt(se_fit ** 2 + prediction.misfit * point_var)
    error = observed - pred
    # two naive forecasts to beat: the largest training model's score, and a line in log size
    last_x = train.x_max
    at_last = train.mask & (np.abs(x - last_x[:, None]) < 1e-12)
    last = np.where(at_last, batch.y, 0).sum(1) / np.maximum(at_last.sum(1), 1)
    line = fits[LINE].predict(xmax[:, None])[:, 0]
    # the trend on the training sizes alone: the weighted slope's two-sided t test
    trend = trend_of(train, fits, scale, dof_t, settings.alpha)
    nan = np.full(C, np.nan)
    return pd.DataFrame({
        "backtest_model": np.where(ok, np.array(SMOOTH)[weight.argmax(1)], ""),
        "backtest_trend": np.where(ok, trend, ""),
        "backtest_predicted": np.where(ok, pred, nan),
        "backtest_observed": np.where(ok, observed, nan),
        "backtest_error": np.where(ok, error, nan),
        "backtest_interval": np.where(ok, half, nan),
        "backtest_covered": np.where(ok & np.isfinite(half), np.abs(error) <= half, nan),
        "backtest_error_last": np.where(ok, observed - last, nan),
        "backtest_error_line": np.where(ok, observed - line, nan),
    })


# ---------------------------------------------------------------- mirage

#: discontinuous: all-or-nothing per item (exact match, multiple-choice grade);
#: continuous: partial credit or likelihood-based.
DISCONTINUOUS = {"acc", "acc_norm", "em", "exact_match", "exact_str_match", "pass@1", "mc1",
                 "multiple_choice_grade"}
CONTINUOUS = {"f1", "bleu", "bleurt", "rouge", "rouge1", "rouge2", "rougeL", "ppl", "perplexity",
              "word_perplexity", "byte_perplexity", "bits_per_byte", "mc2", "brier", "brier_score",
              "log_likelihood", "loglikelihood", "likelihood_difference"}


def metric_kind(metric: str) -> str:
    base = str(metric).split("/")[0].split(",")[0]
    return "discontinuous" if base in DISCONTINUOUS else "continuous" if base in CONTINUOUS else "unknown"


def rising_slope(x: np.ndarray, y: np.ndarray, var: np.ndarray | None = None) -> tuple[float, float]:
    """The slope of y on x and its one-sided p (H1: slope > 0): weighted least squares with known
    variances `var` (statsmodels' WLS with cov_type "fixed scale": a normal test), else ordinary least
    squares (a t test on n - 2 dof). In numpy: importing statsmodels' regression took 1.3 s of the
    run-wide step for a handful of lines; a test compares the two."""
    w = np.ones_like(y) if var is None else 1.0 / var
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    sxx = np.sum(w * (x - xm) ** 2)
    slope = np.sum(w * (x - xm) * (y - ym)) / sxx
    if var is None:
        dof = len(y) - 2
        resid = y - ym - slope * (x - xm)
        se = np.sqrt(np.sum(resid ** 2) / dof / sxx)
    else:
        dof, se = np.inf, np.sqrt(1.0 / sxx)
    return float(slope), float(_sf(np.array(slope / se), np.array(float(dof))))


def _rises_at_the_floor(cont: pd.DataFrame, curve: pd.Series, below: float, alpha: float) -> tuple[bool, str]:
    """Does the continuous metric rise across the models at the discrete metric's floor?

    A one-sided slope test on those models' points, with at least 3 scales:
    weighted by their noise as the curve's tests assume it (sampling error
    times the overdispersion, plus the family's scatter) where it is known,
    else ordinary least squares.
    """
    g = cont[cont["scale"] <= below * (1 + 1e-9)]
    if g["scale"].nunique() < 3:
        return False, f"only {g['scale'].nunique()} of its models at the floor: too few to see a trend there"
    x = np.log10(g["scale"].to_numpy(float))
    y, sigma = g["y"].to_numpy(float), g["sigma"].to_numpy(float)
    phi = float(curve.get("dispersion", np.nan))
    tau = float(curve.get("scatter_sd", np.nan))
    shape = bernoulli_sd(y) ** 2 if bool(curve.get("bounded", True)) else 1.0      # the scatter at each score
    var = sigma ** 2 * (phi if np.isfinite(phi) else 1.0) + (tau ** 2 * shape if np.isfinite(tau) else 0.0)
    known = np.isfinite(var).all() and (var > 0).all()
    slope, p = rising_slope(x, y, var if known else None)
    verdict = p <= alpha
    return verdict, (f"rises across the {g['scale'].nunique()} models at the floor "
                     f"({slope:+.3g} per decade, one-sided p={p:.2g})" if verdict else
                     f"no significant rise across the models at the floor (one-sided p={p:.2g})")


#: the columns of the debate tables, so that an empty one is still written with its header
TABLE_COLUMNS = {
    "mirage": ("dataset", "family", "benchmark", "task", "shots", "labels", "metrics", "differ", "mirage",
               "evidence"),
    "cot_gain": ("dataset", "family", "benchmark", "task", "plain_task", "metric", "models", "gain_smallest",
                 "gain_largest",
                 "slope_per_decade", "turns_positive", "positive_from"),
    "compositional": ("group", "dataset", "family", "metric", "shots", "model", "scale", "per_step_accuracy",
                      "rms_error", "max_error", "observed", "predicted"),
}


def mirage_table(curves: pd.DataFrame, points: pd.DataFrame | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Every (family, task) measured with several metrics, with the labels side by side.

    `mirage` marks the case Schaeffer et al. (2023) describe, with positive
    evidence: a discontinuous metric is emergent, and a continuous metric of
    the same evaluation runs (same dataset, same models) is smooth and rises
    significantly across the models that are still at the discrete metric's
    floor (below its bracket), so the capability was there, growing, before
    the discrete metric showed it. `evidence` says what was found, or why it
    could not be (different models, too few models at the floor).
    """
    key = ["dataset", "family", "benchmark", "task", "shots"]
    c = curves.assign(kind=curves["metric"].map(metric_kind))
    # only the (family, task) pairs with several metrics, found without a Python loop
    several = c.groupby(key, dropna=False, sort=False)["metric"].transform("nunique") >= 2
    c = c[several]
    c = c.assign(desc=c["metric"].astype(str) + " (" + c["kind"] + "): " + c["label"].astype(str))
    out = c.groupby(key, dropna=False, sort=True).agg(
        labels=("desc", "; ".join), metrics=("metric", "nunique"), differ=("label", "nunique")).reset_index()
    out["differ"] = out["differ"] > 1
    # only a group with an emergent discontinuous metric and a smooth continuous one can be the mirage case:
    # the others are answered without looking at their points
    disc_all = (c["kind"] == "discontinuous") & (c["label"] == "emergent")
    cont_all = (c["kind"] == "continuous") & (c["label"] == "smooth")
    group = c.groupby(key, dropna=False, sort=True).ngroup()
    candidates = set(group[disc_all]) & set(group[cont_all])
    in_candidates = group.isin(candidates)
    wanted = c.loc[cont_all & in_candidates, "curve_id"]
    shown = (points[points["curve_id"].isin(c.loc[(disc_all | cont_all) & in_candidates, "curve_id"])]
             if points is not None and len(points) and len(wanted) else pd.DataFrame(columns=["curve_id", "model"]))
    models = shown.groupby("curve_id")["model"].agg(lambda m: "\x1f".join(sorted(set(map(str, m)))))
    points_of = dict(tuple(shown[shown["curve_id"].isin(wanted)].groupby("curve_id")))
    # the candidate groups only, by their number in `out` (a frame per group of the run took a second)
    mirage, evidence = np.zeros(len(out), bool), np.full(len(out), "", dtype=object)
    for number, g in c[in_candidates].groupby(group[in_candidates], sort=True):
        found, why = False, ""
        disc = g[(g["kind"] == "discontinuous") & (g["label"] == "emergent")]
        cont = g[(g["kind"] == "continuous") & (g["label"] == "smooth")]
        for _, d in disc.iterrows():
            for _, k in cont.iterrows():
                if models.get(d["curve_id"]) is None or models.get(d["curve_id"]) != models.get(k["curve_id"]):
                    why = f"{k['metric']} is not from the same models as {d['metric']}"
                    continue
                found, text = _rises_at_the_floor(points_of[k["curve_id"]], k, float(d["emergence_scale_low"]), alpha)
                why = f"{k['metric']} {text}"
                if found:
                    break
            if found:
                break
        mirage[number], evidence[number] = found, why
    out["mirage"] = mirage
    out["evidence"] = evidence
    return out[[*key, "labels", "metrics", "differ", "mirage", "evidence"]]


# ---------------------------------------------------------------- chain of thought


def cot_gain(points: pd.DataFrame) -> pd.DataFrame:
    """Gain from chain-of-thought per model, and the scale where it turns positive.

    Pairs each chain-of-thought task with the same task without it
    (`vocabulary.plain_prompting`: `..._cot...` without `_cot`, `chain_of_thought`
    with `standard_prompting`), same family, benchmark and metric (shots may
    differ: the prompts do). Per family and task
    the gain is regressed on log10 scale; `turns_positive` is where that line
    crosses zero inside the data (blank if it does not), and
    `positive_from` the smallest scale from which every larger model gains.
    """
    p = points[points["bounded"].astype(bool)]
    p = p.assign(plain=p["task"].map(plain_prompting))
    cot = p[p["plain"].notna()]
    if cot.empty:
        return pd.DataFrame()
    if "benchmark" not in p:
        p, cot = p.assign(benchmark=""), cot.assign(benchmark="")
    base = p[["dataset", "family", "benchmark", "task", "metric", "model", "scale", "score"]]
    m = cot.merge(base, left_on=["dataset", "family", "benchmark", "plain", "metric", "model"],
                  right_on=["dataset", "family", "benchmark", "task", "metric", "model"], suffixes=("", "_plain"))
    if m.empty:
        return pd.DataFrame()
    m["gain"] = m["score"] - m["score_plain"]
    # mean gain per model size, for every curve at once (sorted by scale within each)
    key = ["dataset", "family", "benchmark", "task", "metric"]
    per_scale = m.groupby([*key, "scale"], sort=True)["gain"].mean().reset_index()
    rows = []
    for (ds, fam, bench, task, metric), g in per_scale.groupby(key, sort=True):
        x, gain = np.log10(g["scale"].to_numpy()), g["gain"].to_numpy()
        row = {"dataset": ds, "family": fam, "benchmark": bench, "task": task, "plain_task": plain_prompting(task),
               "metric": metric,
               "models": len(g), "gain_smallest": gain[0], "gain_largest": gain[-1],
               "slope_per_decade": np.nan, "turns_positive": np.nan, "positive_from": np.nan}
        if len(g) >= 3 and np.ptp(x) > 0:
            b, a = np.polyfit(x, gain, 1)
            row["slope_per_decade"] = b
            if b > 0:
                x_cross = -a / b
                if x.min() <= x_cross <= x.max():
                    row["turns_positive"] = 10 ** x_cross
        neg = np.flatnonzero(gain <= 0)
        if gain[-1] > 0:
            row["positive_from"] = g["scale"].iloc[neg[-1] + 1] if len(neg) else g["scale"].iloc[0]
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- compositional


def compositional_check(points: pd.DataFrame, groups: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Is exact match on an L-step task p^L, with one per-step accuracy p per model?

    `groups` names sets of tasks that share a skill and maps each task to its
    number of steps L (digits, for arithmetic): {"addition": {"2D+": 2, ...}}.
    Per model and group, p is fitted to every task of the group by least
    squares; the table gives p, the fit's RMS error, and the observed and
    predicted score per L. When p rises smoothly with scale while p^L looks
    abrupt, the apparent emergence is compositional.
    """
    from scipy import optimize  # here: half a second to import, for the run-wide step only

    rows = []
    for group, steps in groups.items():
        p = points[points["task"].isin(steps) & points["bounded"].astype(bool)]
        for (ds, fam, metric, shots, model), g in p.groupby(
                ["dataset", "family", "metric", "shots", "model"], sort=True, dropna=False):
            if g["task"].nunique() < 2:
                continue
            L = g["task"].map(steps).to_numpy(float)
            y = g["score"].to_numpy(float)
            res = optimize.minimize_scalar(lambda q: ((q ** L - y) ** 2).sum(), bounds=(0.0, 1.0),
                                           method="bounded")
            pred = res.x ** L
            rows.append({"group": group, "dataset": ds, "family": fam, "metric": metric, "shots": shots,
                         "model": model, "scale": g["scale"].iloc[0], "per_step_accuracy": res.x,
                         "rms_error": float(np.sqrt(np.mean((pred - y) ** 2))),
                         "max_error": float(np.max(np.abs(pred - y))),
                         "observed": "; ".join(f"L={int(n)}: {v:.3f}" for n, v in sorted(zip(L, y))),
                         "predicted": "; ".join(f"L={int(n)}: {v:.3f}" for n, v in sorted(zip(L, pred)))})
    return pd.DataFrame(rows)
