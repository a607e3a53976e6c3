"""Curves: the scores of one family on one task/metric/shots, against scale.

Scores are oriented so that higher is better: bounded metrics with
higher_is_better false become 1 - score, raw ones (perplexity) -score. Every
model and test then reads "up is improvement". Points carry a per-point noise level with its source.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalogue import FROM_METRIC
from .loading import CURVE_KEY
from .problems import Problem

CURVE_COLUMNS = ("dataset", *CURVE_KEY)


@dataclass
class CurveBatch:
    """Curves padded to a common length so that they can be fitted at once.

    x, y, sigma, w have shape (C, N); padding has w == 0. `chance` is nan
    when unknown (the sigmoid floor is then fitted). `known_noise` is true when
    every point has a stderr or an item count.
    """

    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    w: np.ndarray
    chance: np.ndarray
    known_noise: np.ndarray
    bounded: np.ndarray
    n_items: np.ndarray | None = None   # (C, N) items behind each score (nan: not given)

    @property
    def mask(self) -> np.ndarray:
        return self.w > 0

    @property
    def x_min(self) -> np.ndarray:
        """Smallest scale of each curve (log10)."""
        return np.where(self.mask, self.x, np.inf).min(axis=1)

    @property
    def x_max(self) -> np.ndarray:
        """Largest scale of each curve (log10)."""
        return np.where(self.mask, self.x, -np.inf).max(axis=1)

    @property
    def n(self) -> np.ndarray:
        return self.mask.sum(axis=1)

    @property
    def n_scales(self) -> np.ndarray:
        """Distinct scales per curve (replicates at one scale count once)."""
        xs = np.sort(np.where(self.mask, self.x, np.inf), axis=1)
        with np.errstate(invalid="ignore"):                  # inf − inf past the last point
            return np.isfinite(xs[:, 0]) + (np.isfinite(xs[:, 1:]) & (np.diff(xs, axis=1) != 0)).sum(1)

    def __len__(self) -> int:
        return self.x.shape[0]

    def take(self, idx) -> CurveBatch:
        return CurveBatch(*(getattr(self, f)[idx] for f in
                            ("x", "y", "sigma", "w", "chance", "known_noise", "bounded")),
                          None if self.n_items is None else self.n_items[idx])

    def with_y(self, y: np.ndarray) -> CurveBatch:
        return CurveBatch(self.x, np.where(self.mask, y, 0.0), self.sigma, self.w,
                          self.chance, self.known_noise, self.bounded, self.n_items)

    def with_x(self, x: np.ndarray) -> CurveBatch:
        """The same scores at other scales (e.g. the mirrored axis)."""
        return CurveBatch(x, self.y, self.sigma, self.w, self.chance, self.known_noise, self.bounded, self.n_items)

    def without_point(self, j: np.ndarray) -> CurveBatch:
        """Each curve with its point j (C,) left out, the later points moved up (padding stays last)."""
        return CurveBatch(*(drop_column(getattr(self, f), j) for f in ("x", "y", "sigma", "w")),
                          self.chance, self.known_noise, self.bounded,
                          None if self.n_items is None else drop_column(self.n_items, j))

    def repeat(self, times: int) -> CurveBatch:
        """Each curve `times` times in a row (for bootstrap replicates)."""
        return self.take(np.repeat(np.arange(len(self)), times))


#: the pseudo-items that smooth a proportion before its Bernoulli sd is taken (Jeffreys: + 1/2)
BERNOULLI_ITEMS = 100


def bernoulli_sd(y: np.ndarray) -> np.ndarray:
    """2·√(p̃(1 − p̃)), p̃ = (y·m + ½)/(m + 1) with m = `BERNOULLI_ITEMS`: the sd of a proportion relative
    to one at 50 %, the shape of the noise of bounded scores without stderr or item counts."""
    p = np.clip((np.asarray(y, float) * BERNOULLI_ITEMS + 0.5) / (BERNOULLI_ITEMS + 1), 0.0, 1.0)
    return 2 * np.sqrt(p * (1 - p))


#: points a curve needs before its noise is evaluated at its smoothed level (`noise_level`): a quadratic
#: through fewer leaves at most one residual dof and all but reproduces the observed scores
LEVEL_MIN_POINTS = 5


def noise_level(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The score level (C, N) at which a bounded point's noise is evaluated: the curve's unweighted
    least-squares quadratic in log scale, clipped to [0, 1], where it has `LEVEL_MIN_POINTS` points
    or more; the observed score elsewhere.

    A proportion's variance depends on its true level, and evaluated at the observed score it
    depends on the point's own error: a model that came out low gets a small variance and a large
    weight, which biases the weighted trend (a flat 12-size curve with 100 items and 3× scatter was
    called inverse on 6 % of curves, the trend test's size 20 %; METHODS.md 2.1). A smooth fit of the
    curve, as in a GLM's iteratively reweighted least squares, takes the error out of the weight."""
    w = mask.astype(float)
    n = w.sum(1)
    xc = np.where(mask, x - (x * w).sum(1, keepdims=True) / np.maximum(n, 1)[:, None], 0.0)
    design = np.stack([np.ones_like(xc), xc, xc ** 2], -1) * w[..., None]
    gram = np.einsum("cni,cnj->cij", design, design) + 1e-12 * np.eye(3)
    coef = np.linalg.solve(gram, np.einsum("cni,cn->ci", design, np.where(mask, y, 0.0))[..., None])[..., 0]
    fitted = coef[:, :1] + coef[:, 1:2] * xc + coef[:, 2:3] * xc ** 2
    fitted = np.clip(fitted, 0.0, 1.0)
    # never a more precise point than its observed score says: of the two, the level nearer 50 %
    fitted = np.where(np.abs(fitted - 0.5) < np.abs(y - 0.5), fitted, y)
    return np.where(mask & (n >= LEVEL_MIN_POINTS)[:, None], fitted, y)


def binomial_sd(level: np.ndarray, n_items: np.ndarray) -> np.ndarray:
    """The sd of a proportion of n items at `level`, Jeffreys-smoothed (a score of 0 % or 100 % is not
    noiseless)."""
    p = np.clip((level * n_items + 0.5) / (n_items + 1.0), 0.0, 1.0)
    return np.sqrt(p * (1 - p) / n_items)


def drop_column(a: np.ndarray, j: np.ndarray) -> np.ndarray:
    """a (C, N) with row i's column j[i] removed and a zero column appended (the padding)."""
    C, N = a.shape
    cols = np.arange(N - 1)[None, :]
    src = np.where(cols >= j[:, None], cols + 1, cols)
    return np.concatenate([np.take_along_axis(a, src, 1), np.zeros((C, 1), a.dtype)], axis=1)


def point_noise(points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-point sigma (oriented units) and its source: stderr, binomial or none."""
    stderr = points["stderr"].to_numpy(float)
    n = points["n_items"].to_numpy(float)
    y = points["score"].to_numpy(float)
    binom = binomial_sd(y, n)
    has_se = np.isfinite(stderr) & (stderr > 0)
    has_n = np.isfinite(n) & points["bounded"].to_numpy(bool)
    sigma = np.where(has_se, stderr, np.where(has_n, binom, np.nan))
    source = np.where(has_se, "stderr", np.where(has_n, "binomial", "none"))
    return sigma, source


def build_curves(points: pd.DataFrame, label: str) -> tuple[pd.DataFrame, pd.DataFrame, list[Problem]]:
    """Group points into curves; return (curve table, points with curve ids, problems).

    A curve whose rows disagree on unit, direction or chance is rejected with
    one problem per row: mixing them would fit one line through two scales.
    """
    pts = points.copy()
    if pts.empty:
        return _empty_curves(), pts.assign(curve_id=pd.Series(dtype=str)), []
    # "|" joins the parts; a "|" (and the escape "\\" itself) inside a name is escaped, so that family
    # "X|Y" on benchmark "Z" and family "X" on benchmark "Y|Z" stay two curves, and "A\\" + "m|s" is not "A|B" + "m\\"
    parts = pts[list(CURVE_COLUMNS)].astype(str).apply(
        lambda col: col.str.replace("\\", "\\\\", regex=False).str.replace("|", "\\|", regex=False))
    pts["curve_id"] = parts.agg("|".join, axis=1)
    sigma, source = point_noise(pts)
    pts["sigma"] = sigma
    pts["noise_source"] = source

    problems: list[Problem] = []
    bad_curves = set()
    groups = pts.groupby("curve_id", sort=False)
    mixed = (groups[["unit", "higher_is_better", "chance"]].nunique() > 1).any(axis=1)
    for cid in mixed.index[mixed]:                 # only the inconsistent curves, one by one
        g = pts[pts["curve_id"] == cid]
        for col in ("unit", "higher_is_better"):
            if g[col].nunique() > 1:
                bad_curves.add(cid)
                problems += [Problem(label, int(r), col, f"{col} differs between rows of one curve "
                             f"({', '.join(map(str, g[col].unique()))}); use one {col} for "
                             f"family {g['family'].iat[0]!r}, task {g['task'].iat[0]!r}, metric {g['metric'].iat[0]!r}")
                             for r in g["row"]]
                break
        else:
            ch = g["chance"].dropna().unique()
            bad_curves.add(cid)
            problems += [Problem(label, int(r), "chance", "chance differs between rows of one curve "
                         f"({', '.join(f'{c:g}' for c in ch)}); give one chance level per task and metric")
                         for r in g["row"]]
    pts = pts[~pts["curve_id"].isin(bad_curves)].reset_index(drop=True)

    bounded = pts["bounded"].to_numpy(bool)
    flip = bounded & ~pts["higher_is_better"].to_numpy(bool)
    pts["direction"] = np.where(bounded | pts["higher_is_better"], 1, -1)
    # losses and perplexities follow power laws, L = E + A·N^-alpha: they are analysed on the
    # scale where that is (nearly) linear, -log10 L, when every score of the curve is positive
    positive = pts.groupby("curve_id", sort=False)["score"].transform("min").to_numpy(float) > 0
    log = ~bounded & ~pts["higher_is_better"].to_numpy(bool) & positive
    pts["log_scale"] = log
    with np.errstate(divide="ignore", invalid="ignore"):
        pts["y"] = np.where(log, -np.log10(pts["score"]),
                            np.where(flip, 1.0 - pts["score"], pts["direction"] * pts["score"]))
        pts["sigma"] = np.where(log, pts["sigma"] / (pts["score"] * np.log(10.0)), pts["sigma"])

    source = pts["noise_source"]
    filled = pts["filled"] if "filled" in pts else pd.Series("", index=pts.index)
    agg = pts.assign(_known=source != "none", _binomial=source == "binomial", _stderr=source == "stderr",
                     _items_filled=filled.str.contains("n_items"), _chance_filled=filled.str.contains("chance"),
                     _chance_metric=filled.str.contains(FROM_METRIC),
                     _catalogue=pts["catalogue"] if "catalogue" in pts else "").groupby(
        "curve_id", sort=False).agg(
        **{c: (c, "first") for c in CURVE_COLUMNS},
        unit=("unit", "first"), bounded=("bounded", "first"),
        higher_is_better=("higher_is_better", "first"), direction=("direction", "first"),
        log_scale=("log_scale", "first"),
        chance_raw=("chance", "max"),
        n_points=("x", "size"), n_scales=("x", "nunique"),
        scale_min=("scale", "min"), scale_max=("scale", "max"),
        known_noise=("_known", "all"), _binomial=("_binomial", "any"), _stderr=("_stderr", "any"),
        _items_filled=("_items_filled", "any"), _chance_filled=("_chance_filled", "any"),
        _chance_metric=("_chance_metric", "any"),
        catalogue=("_catalogue", "first"),
    ).reset_index()
    # the noise sources of a curve, "+"-joined, or "residual" when any point has none
    sources = np.where(agg["_binomial"], "binomial", "") \
        + np.where(agg["_binomial"] & agg["_items_filled"], " (catalogue's item count)", "") \
        + np.where(agg["_binomial"] & agg["_stderr"], "+", "") + np.where(agg["_stderr"], "stderr", "")
    agg["noise"] = np.where(agg["known_noise"], sources, "residual")
    agg["known_noise"] = agg["known_noise"].astype(bool)
    agg["chance_source"] = np.select([agg["_chance_metric"], agg["_chance_filled"], agg["chance_raw"].notna()],
                                     ["metric", "catalogue", "table"], "")
    agg = agg.drop(columns=["_binomial", "_stderr", "_items_filled", "_chance_filled", "_chance_metric"])
    flip_c = agg["bounded"] & ~agg["higher_is_better"]
    agg["chance"] = np.where(flip_c, 1.0 - agg["chance_raw"], agg["chance_raw"])
    agg = agg.drop(columns="chance_raw")
    return agg, pts, problems


def _empty_curves() -> pd.DataFrame:
    return pd.DataFrame(columns=["curve_id", *CURVE_COLUMNS, "unit", "bounded", "higher_is_better",
                                 "direction", "log_scale", "n_points", "n_scales", "scale_min", "scale_max",
                                 "known_noise", "noise", "chance", "catalogue", "chance_source"])


def to_batch(curves: pd.DataFrame, points: pd.DataFrame, width: int | None = None) -> CurveBatch:
    """Pad the curves' points into arrays, in the order of `curves`, each sorted by x.

    width: pad to at least this many columns (a shard of a dataset is padded as the whole dataset is, so
    that every sum over a curve's points runs over the same array and gives the same bits).
    """
    C = len(curves)
    row_of = pd.Series(np.arange(C), index=curves["curve_id"].to_numpy())
    points = points[points["curve_id"].isin(row_of.index)]
    ci = row_of.reindex(points["curve_id"].to_numpy()).to_numpy()
    # ties (several rows at one scale) by score, so that the order does not depend on the rows' order
    order = np.lexsort((points["y"].to_numpy(float), points["x"].to_numpy(float), ci))
    ci = ci[order]
    # position of each point within its curve
    first = np.r_[0, np.flatnonzero(np.diff(ci)) + 1]
    j = np.arange(len(ci)) - np.repeat(first, np.diff(np.r_[first, len(ci)]))
    N = max(int(j.max()) + 1 if len(j) else 1, width or 1)
    x = np.zeros((C, N)); y = np.zeros((C, N)); sigma = np.ones((C, N)); w = np.zeros((C, N))
    n_items = np.full((C, N), np.nan)
    binomial = (points["noise_source"] == "binomial").to_numpy()[order]
    n_items[ci, j] = np.where(binomial, points["n_items"].to_numpy(float)[order], np.nan)
    x[ci, j] = points["x"].to_numpy(float)[order]
    y[ci, j] = points["y"].to_numpy(float)[order]
    s = points["sigma"].to_numpy(float)[order]
    sigma[ci, j] = np.where(np.isfinite(s), s, 1.0)
    w[ci, j] = 1.0
    known = curves["known_noise"].to_numpy(bool)
    bounded = curves["bounded"].to_numpy(bool)
    # a bounded point's noise at the curve's smoothed level, not at its own observed score (`noise_level`):
    # item counts give a proportion's sd; unknown noise, the shape of one, up to a scale the noise model
    # estimates (quasi-binomial): a score of 0 % or 100 % varies less than one of 50 %
    level = noise_level(x, y, w > 0)
    sigma = np.where(np.isfinite(n_items), binomial_sd(level, n_items), sigma)
    shape = np.where((~known & bounded)[:, None], bernoulli_sd(level), 1.0)
    sigma = np.where(known[:, None], sigma, shape)
    w = np.where(w > 0, 1.0 / sigma ** 2, w)
    return CurveBatch(x, y, sigma, w, curves["chance"].to_numpy(float), known,
                      curves["bounded"].to_numpy(bool), n_items)
