"""The bottom layer: what a model declares (`model`) and how many curves are fitted at once (`fit`).

It imports nothing above it: the registered models (`analysis/models/`) build on it, each with
its own numerics, and the statistics above them ask the registry for roles.
"""
from .fit import (
    FTOL,
    LAM0,
    LN10,
    MAX_CELLS,
    MAX_LM_CELLS,
    PTOL,
    STALL_EVERY,
    ModelFit,
    fit_generic,
    fit_linear,
    free_parameters,
    grid_sums,
    ls2,
    ls2_rss,
    monotone_rss,
    pattern_search,
    prediction_se,
    replicate_templates,
    standard_errors,
    template_slices,
    unscaled_covariance,
    wsum,
    y_sums,
)
from .model import ROLES, WIDTH_10_90, X0_MARGIN, Model, floor_of, logistic, transition_width

__all__ = ["FTOL", "LAM0", "LN10", "MAX_CELLS", "MAX_LM_CELLS", "PTOL", "ROLES", "STALL_EVERY", "WIDTH_10_90",
           "X0_MARGIN", "Model", "ModelFit", "fit_generic", "fit_linear", "floor_of", "free_parameters", "grid_sums",
           "logistic", "ls2", "ls2_rss", "monotone_rss", "pattern_search", "prediction_se", "replicate_templates",
           "standard_errors", "template_slices", "transition_width", "unscaled_covariance", "wsum", "y_sums"]
