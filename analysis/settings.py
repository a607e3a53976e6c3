"""The run's settings: one schema holds every default and meaning, one object carries them.

`analysis/config.schema.yaml` (JSON Schema, Draft 2020-12) declares every
setting with its type, default and description. The workflow validates its
config against it; `Settings.from_config` fills in the defaults and is what
the code receives, built once per step.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")
#: settings that only the calibration table reads (a change reruns nothing else)
CALIBRATION_KEYS = ("calibration_curves", "calibration_bootstrap")
#: where the data and results are, and how the work is split into jobs: not a setting of any analysis step
LOCATION_KEYS = ("data_dir", "results_dir", "datasets", "shard_size")


@functools.cache
def schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _defaults(node: dict) -> dict:
    out = {}
    for key, spec in node.get("properties", {}).items():
        if "properties" in spec:
            out[key] = {**spec.get("default", {}), **_defaults(spec)}
        elif "default" in spec:
            out[key] = spec["default"]
    return out


def defaults() -> dict:
    """Every setting's default, nested as in the config."""
    return _defaults(schema())


def with_defaults(config: dict) -> dict:
    """The config with every missing setting at its default (nested dicts merged), validated."""
    import jsonschema
    out = defaults()
    for key, value in config.items():
        out[key] = {**out[key], **value} if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    jsonschema.Draft202012Validator(schema()).validate(out)
    return out


def for_dataset(config: dict, dataset: str) -> dict:
    """One dataset's settings: the run's config with its overrides (x axis, split_by) applied."""
    own = config.get("datasets", {}).get(dataset, {})
    return {**{k: v for k, v in config.items() if k != "datasets"}, **own}


def describe() -> list[tuple[str, object, str]]:
    """(key, default, description) of every setting, for docs/USAGE.md and the report."""
    rows = []

    def walk(node, prefix=""):
        for key, spec in node.get("properties", {}).items():
            if "properties" in spec:
                walk(spec, f"{prefix}{key}.")
            else:
                rows.append((prefix + key, spec.get("default"), spec.get("description", "")))
    walk(schema())
    return rows


def markdown_table() -> str:
    """The settings table of docs/USAGE.md, generated from the schema (a test keeps them in step)."""
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for key, default, meaning in describe():
        shown = "see `workflow/config.yaml`" if isinstance(default, dict) and default == {} and key != "emergence" \
            else f"`{default}`"
        rows.append(f"| `{key}` | {shown} | {meaning.replace('|', '/')} |")
    return "\n".join(rows)


_D = defaults()
_E = _D["emergence"]


@dataclass(frozen=True)
class Settings:
    """Every knob of a run, defaults from the schema (`from_config` is how the steps build it)."""

    alpha: float = _D["alpha"]
    bootstrap: int = _D["bootstrap"]
    seed: int = _D["seed"]
    min_scales: int = _D["min_scales"]
    min_change: float = _D["min_change"]
    flat_margin: float = _D["flat_margin"]
    noise_floor: float = _D["noise_floor"]
    overdispersion_min_df: int = _D["overdispersion_min_df"]
    scatter: str = _D["scatter"]
    scatter_min_df: int = _D["scatter_min_df"]
    headline_metrics: tuple[str, ...] = tuple(_D["headline_metrics"])
    min_floor_models: int = _E["min_floor_models"]
    max_transition_decades: float = _E["max_transition_decades"]
    chance_tolerance: float = _E["chance_tolerance"]
    jump_margin: float = _E["jump_margin"]
    floor_without_chance: str = _E["floor_without_chance"]
    accelerating_null: str = _E["accelerating_null"]
    x_axis: str = _D["x_axis"]
    catalogue: bool = _D["catalogue"]
    split_by: tuple[str, ...] = tuple(_D["split_by"])
    strict: bool = _D["strict"]
    max_file_mb: float = _D["max_file_mb"]
    calibration_curves: int = _D["calibration_curves"]
    calibration_bootstrap: int = _D["calibration_bootstrap"]
    compositional: dict = field(default_factory=lambda: dict(_D["compositional"]))

    @classmethod
    def from_config(cls, config: dict) -> Settings:
        """From a workflow config (or part of one): nested `emergence` keys flattened, defaults filled."""
        full = with_defaults({k: v for k, v in config.items() if k in schema()["properties"]})
        flat = {**full, **full["emergence"]}
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in flat.items() if k in names}
        values["split_by"] = tuple(values["split_by"])
        values["headline_metrics"] = tuple(values["headline_metrics"])
        return cls(**values)
