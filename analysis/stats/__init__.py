"""The tests behind the labels (METHODS.md section 4), one module per test, vectorised over curves.

Every test reads the curve's noise from `noise.Noise`: sampling noise plus the
scatter between the family's models, learnt from the family's curves and a
shipped reference prior (`noise.noise_terms`), with t distributions on their
dof, and returns a `TestResult`: the tests it ran and one row per curve.

- `trend`: the weighted slope test (`smooth`, `inverse`) and the equivalence test of `flat`;
- `two_lines`: Simonsohn's two-lines test (`u_shaped`, `inverted_u`);
- `emergence`: absent, then present, and not predictable from the smaller models (`emergent`),
  with its bracket, its sharpness and its leave-one-model-out check;
- `sharp_rise`: the descriptive bootstrap of a sharp rise against the smooth models, and their fit;
- `multiple_testing`: the headline metric of each claim and the q-values per dataset;
- `common`: what they share (the records, t tails, Welch-Satterthwaite dof).
"""
from .common import NOISE_ASSUMPTION, Test, TestResult
from .emergence import (
    EMERGENCE,
    MAX_TRANSITION,
    WIDTH,
    WIDTH_MIN_PRESENT,
    emergence_assessable,
    emergence_floor,
    emergence_test,
    leave_one_out,
    sharpness,
    width_test,
)
from .multiple_testing import P_COLUMNS, add_q_values, bh_q, headline
from .sharp_rise import (
    SHARP,
    SHARP_MODEL,
    SMOOTH,
    SMOOTH_FIT,
    monte_carlo_looks,
    null_model,
    sharpness_test,
    smooth_fit_test,
)
from .trend import TREND, trend_test
from .two_lines import CURVATURE_MODEL, TWO_LINES, two_lines_test

__all__ = [
    "CURVATURE_MODEL", "EMERGENCE", "MAX_TRANSITION", "NOISE_ASSUMPTION", "P_COLUMNS", "SHARP", "SHARP_MODEL",
    "SMOOTH", "SMOOTH_FIT", "TREND", "TWO_LINES", "WIDTH", "WIDTH_MIN_PRESENT", "Test", "TestResult",
    "add_q_values", "bh_q", "emergence_assessable", "emergence_floor", "emergence_test", "headline",
    "leave_one_out", "monte_carlo_looks", "null_model", "sharpness", "sharpness_test", "smooth_fit_test",
    "trend_test", "two_lines_test", "width_test",
]
