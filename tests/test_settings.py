"""One source of settings: the schema's defaults are what the code runs with."""
import dataclasses

import jsonschema
import pytest
import yaml

from analysis.settings import (
    CALIBRATION_KEYS,
    LOCATION_KEYS,
    SCHEMA_PATH,
    Settings,
    describe,
    for_dataset,
    with_defaults,
)
from tests.conftest import REPO


def test_every_setting_is_declared_once_with_default_and_meaning():
    keys = [k for k, _, _ in describe()]
    fields = {f.name for f in dataclasses.fields(Settings)}
    for key, default, meaning in describe():
        assert default is not None, key
        assert len(meaning) > 10, key
    leaf = {k.split(".")[-1] for k in keys}
    assert fields == leaf - set(LOCATION_KEYS)
    assert set(CALIBRATION_KEYS) <= fields


def test_settings_come_from_the_schema_and_the_config_only_overrides():
    spec = yaml.safe_load(SCHEMA_PATH.read_text())
    assert Settings().alpha == spec["properties"]["alpha"]["default"]
    emergence = spec["properties"]["emergence"]["properties"]
    assert Settings().max_transition_decades == emergence["max_transition_decades"]["default"]
    s = Settings.from_config({"alpha": 0.01, "emergence": {"chance_tolerance": 0.1}})
    assert (s.alpha, s.chance_tolerance, s.max_transition_decades) == (0.01, 0.1, Settings().max_transition_decades)
    # the bundled config file holds no default: only what differs
    config = yaml.safe_load((REPO / "workflow" / "config.yaml").read_text())
    assert set(config) <= {"compositional", "datasets"}


def test_bad_settings_are_refused_by_the_schema():
    with pytest.raises(jsonschema.ValidationError, match="alpha"):
        with_defaults({"alpha": 2})
    with pytest.raises(jsonschema.ValidationError):
        Settings.from_config({"emergence": {"max_transition_decade": 0.2}})


def test_dataset_overrides_apply_to_their_dataset_only():
    config = with_defaults({"datasets": {"ckpt": {"x_axis": "tokens", "split_by": ["params"]}}})
    ckpt = Settings.from_config(for_dataset(config, "ckpt"))
    other = Settings.from_config(for_dataset(config, "other"))
    assert (ckpt.x_axis, ckpt.split_by) == ("tokens", ("params",))
    assert (other.x_axis, other.split_by) == ("params", ())
    assert "datasets" not in for_dataset(config, "ckpt")


def test_readme_settings_table_is_the_schemas():
    from analysis.settings import markdown_table
    assert markdown_table() in (REPO / "docs" / "USAGE.md").read_text(encoding="utf-8")


def test_the_x_axis_and_split_by_settings_reach_the_result(tmp_path):
    """Issue 23: `analyse_dataset` once ignored `x_axis` (a tokens curve came back on params). Two model
    sizes, each at five training-token checkpoints: on params each family has one scale; on tokens, split
    by params, each size is a curve of five checkpoints."""
    import pandas as pd

    from analysis.pipeline import analyse_dataset
    tokens = [2e10, 6e10, 2e11, 6e11, 2e12]
    rows = [{"model": f"m{p:.0e}-{t:.0e}", "family": "F", "params": p, "tokens": t, "benchmark": "b", "task": "t",
             "metric": "acc", "score": 0.3 + 0.05 * i + (0.02 if p > 1e9 else 0.0), "n_items": 1000,
             "chance": 0.25, "source": "synthetic"}
            for p in (4.1e8, 1.4e9) for i, t in enumerate(tokens)]
    path = tmp_path / "checkpoints.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    on_params = analyse_dataset(path, Settings()).curves
    on_tokens = analyse_dataset(path, Settings(x_axis="tokens", split_by=("params",))).curves
    assert set(on_params["x_axis"]) == {"params"}
    assert set(on_tokens["x_axis"]) == {"tokens"}
    assert len(on_tokens) == 2 and (on_tokens["n_scales"] == 5).all()
    assert on_tokens["family"].nunique() == 2
