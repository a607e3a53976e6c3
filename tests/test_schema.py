"""One declaration per output column: what the pipeline writes is what the schema says."""
import numpy as np
import pandas as pd

from analysis import schema
from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings
from analysis.synthetic import simulate
from tests.conftest import REPO


def test_column_reference_is_generated_from_the_schema():
    assert (REPO / "docs" / "COLUMNS.md").read_text(encoding="utf-8") == schema.markdown()


def test_every_written_column_is_declared_in_order(tmp_path):
    df = pd.concat([simulate("emergent", 2, seed=1), simulate("flat", 2, seed=2)])
    short = simulate("smooth", 1, n_sizes=3, seed=3).assign(task="short")
    path = tmp_path / "x.csv"
    pd.concat([df, short]).to_csv(path, index=False)
    run = combine([analyse_dataset(path, Settings(bootstrap=20))], Settings())
    assert schema.undeclared(run.curves, schema.CURVES) == []
    assert list(run.curves.columns) == schema.names(schema.CURVES)
    assert schema.undeclared(run.points, schema.POINTS) == []
    params = {p for m in run.fits["model"].unique() for p in run.fits.columns if p not in schema.names(schema.FITS)}
    from analysis.models import PARAMS
    assert all(p.startswith("se_") or any(p in names for names in PARAMS.values()) for p in params)


def test_a_dataset_without_fittable_curves_gets_every_statistic_blank(tmp_path):
    path = tmp_path / "short.csv"
    simulate("smooth", 2, n_sizes=3, seed=3).to_csv(path, index=False)
    res = analyse_dataset(path, Settings(bootstrap=20))
    stats = schema.names(schema.CURVES, "stats")
    assert set(stats) <= set(res.curves.columns)
    assert res.curves[[c for c in stats if c != "effect_unit"]].isna().all().all()


def test_text_is_read_back_as_text(tmp_path):
    """A task named "null", a family "NA" and a model "None" are names, not missing values."""
    path = tmp_path / "curves.csv"
    pd.DataFrame({"family": ["NA", "x"], "task": ["null", "None"], "shots": ["", "5"],
                  "p_value": [np.nan, 0.5]}).to_csv(path, index=False)
    back = schema.read(path, "curves")
    assert back["family"].tolist() == ["NA", "x"] and back["task"].tolist() == ["null", "None"]
    assert back["shots"].tolist() == ["", "5"]
    assert np.isnan(back["p_value"].iat[0])


def test_the_report_table_shows_the_declared_report_columns():
    cols = [c.name for c in schema.report_columns()]
    assert cols[:6] == ["dataset", "family", "benchmark", "task", "metric", "shots"]
    assert {"label", "p_value", "q_value", "emergence_scale"} <= set(cols)


def test_the_docs_cite_functions_not_line_numbers():
    """Issue 23: every line-number citation in METHODS.md had gone stale; code is cited by function."""
    import re
    for doc in ("docs/METHODS.md", "docs/USAGE.md", "docs/ACCURACY.md", "README.md"):
        text = (REPO / doc).read_text(encoding="utf-8")
        assert not re.findall(r"\b\w+\.py:\d+", text), doc


def test_the_readme_fits_in_200_lines():
    """Issue 23: what it answers, quick start, adding data, what you get, how sure, where to read more;
    the rest lives in docs/."""
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


def test_integer_and_boolean_columns_are_written_as_such_when_some_curves_leave_them_blank(tmp_path):
    """A dataset whose curves are too short to test leaves onset_floor blank; combined with one that fills
    it, the column must still be written 2, not 2.0 (and True, not 1.0); a count that is not whole is
    written as it is rather than rounded."""
    import numpy as np

    from analysis.schema import CURVES, read, typed
    frame = pd.DataFrame({"onset_floor": [2.0, np.nan], "backtest_covered": [1.0, np.nan],
                          "n_points": [4.0, 5.0], "p_value": [0.5, np.nan]})
    path = tmp_path / "curves.csv"
    typed(frame, CURVES).to_csv(path, index=False)
    assert path.read_text().splitlines() == ["onset_floor,backtest_covered,n_points,p_value", "2,True,4,0.5", ",,5,"]
    back = read(path, "curves")
    assert back["onset_floor"].tolist()[0] == 2 and np.isnan(back["onset_floor"].tolist()[1])
    odd = pd.DataFrame({"n_points": [2.5]})
    assert typed(odd, CURVES)["n_points"].tolist() == [2.5]
