"""A portfolio file (``mmm batch PORTFOLIO.yaml``): the models a team reruns together, and the steps of each.

```yaml
name: brands                 # default: the file's stem
label: 2026-q4               # names this batch's folders in each model's runs folder (default: name)
out: batch-2026-q4           # the batch's own folder: status, logs, the portfolio page (default: <name>-<label>)
fit: {draws: 500, tune: 500, chains: 2}     # for every fit and refresh (each model may override)
optimize: {target_roi: 1.0}  # for every optimize step (each model may override)
steps: [fit]                 # for models that name none
models:
  - config: brand_a/config.yaml            # id: the config's `name` (else the file's stem)
    steps: [fit, optimize]
  - id: brand_b
    steps: [refresh, backtest, compare, optimize]
    data: brand_b/2026q4.csv               # the new quarter; parent: the newest run in the runs folder
  - configs: more_brands/                  # every *.yaml in the folder, one model each
```

Paths are relative to the portfolio file. Each model's runs folder (``runs:``, default ``<name>-runs/<id>``) is
the same every quarter, so this quarter's refresh finds last quarter's run there and ``mmm history`` lists both. Every key changes what the batch does or is refused, naming the
file, the model and the fix. Parents of refreshes are resolved when the batch starts
(:func:`mmm.runs.folder` knows run folders; this module only reads the file).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mmm.spec.errors import ConfigError, refuse_unknown_keys

STEPS = ("fit", "refresh", "backtest", "compare", "optimize")  # the order they run in
FIT_KEYS = ("draws", "tune", "chains", "seed", "sampler")
SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")
GOALS = ("budget", "target_roi", "target_mroas", "target_value")
OPTIMIZE_KEYS = (*GOALS, "objective", "periods", "flighting", "lookback", "max_draws", "by_geo", "bounds")
TOP_KEYS = ("name", "label", "out", "fit", "optimize", "steps", "models")
MODEL_KEYS = ("id", "config", "configs", "steps", "data", "parent", "runs", "fit", "optimize")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ModelJob:
    """One model of the portfolio: what a batch worker runs as one task."""

    id: str
    steps: tuple[str, ...]
    runs: Path  # the model's runs folder: this batch writes <runs>/<label> and its siblings
    config: Path | None = None  # fit: the config; refresh: a changed config (None: the parent's)
    data: Path | None = None  # refresh: the new data
    parent: Path | None = None  # refresh: the parent run (None: the newest run in `runs`, found at start)
    fit: dict[str, Any] = field(default_factory=dict)
    optimize: dict[str, Any] = field(default_factory=dict)
    written: dict[str, Any] = field(default_factory=dict)  # the entry as the file has it (paths as written)

    def fingerprint(self) -> str:
        """A digest of the job as written (a portfolio folder moved elsewhere keeps it): a resumed batch refuses
        a model whose entry changed since."""
        text = json.dumps({"id": self.id, "steps": self.steps, "fit": self.fit, "optimize": self.optimize,
                           "entry": self.written}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Portfolio:
    source: Path
    name: str
    label: str
    out: Path
    models: tuple[ModelJob, ...]

    def run_dir(self, job: ModelJob) -> Path:
        return job.runs / self.label

    def outputs(self, job: ModelJob) -> dict[str, Path]:
        """Where each step of ``job`` writes (the backtest folder is named as ``mmm refresh`` names it)."""
        run = self.run_dir(job)
        named = {"fit": run, "refresh": run, "backtest": run.with_name(f"{run.name}-backtest"),
                 "compare": run.with_name(f"{run.name}-compare"), "optimize": run.with_name(f"{run.name}-plan")}
        return {step: named[step] for step in job.steps}


def load_portfolio(path: str | Path, out: str | Path | None = None) -> Portfolio:
    """Read and check a portfolio file; ``out`` (e.g. ``--out``) replaces the file's ``out``."""
    path = Path(path).absolute()  # workers may run elsewhere: every path the batch hands on is absolute
    if not path.is_file():
        raise ConfigError(f"{path}: portfolio file not found; pass the YAML file that lists the models")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err}); fix the file's syntax") from err
    source = str(path)
    refuse_unknown_keys(raw if raw is not None else [], TOP_KEYS, source, "the portfolio")
    base = path.parent
    name = _name(raw.get("name", path.stem), source, "name")
    label = _name(raw.get("label", name), source, "label")
    out_dir = Path(out).absolute() if out is not None else base / raw.get("out", f"{name}-{label}")
    fit_default = _fit(raw.get("fit", {}), source, "fit")
    optimize_default = _optimize(raw.get("optimize", {}), source, "optimize")
    steps_default = raw.get("steps", ["fit"])
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: `models` must be a non-empty list of models (each with `config`, or "
                          f"`configs` for a folder of configs)")
    models: list[ModelJob] = []
    for i, entry in enumerate(entries):
        where = f"models[{i}]"
        refuse_unknown_keys(entry, MODEL_KEYS, source, where)
        for config, default_id in _configs(entry, base, source, where):
            models.append(_job(entry, config, default_id, base, base / f"{name}-runs", source, where,
                               steps_default, fit_default, optimize_default))
    ids, runs = set(), {}
    for job in models:
        if job.id in ids:
            raise ConfigError(f"{source}: two models have the id {job.id!r}; give each an `id:` of its own")
        if job.runs in runs:
            raise ConfigError(f"{source}: models {runs[job.runs]} and {job.id} share the runs folder {job.runs}; "
                              f"their runs would collide: give each its own `runs:`")
        ids.add(job.id)
        runs[job.runs] = job.id
    return Portfolio(source=path, name=name, label=label, out=out_dir, models=tuple(models))


def _name(value: Any, source: str, key: str) -> str:
    text = str(value)
    if not SAFE_NAME.match(text):
        raise ConfigError(f"{source}: `{key}` {text!r} names folders; use letters, digits, '.', '_' or '-' "
                          f"(starting with a letter or digit)")
    return text


def _configs(entry: dict, base: Path, source: str, where: str) -> list[tuple[Path | None, str | None]]:
    """(config path, default id) for each model the entry stands for."""
    if "config" in entry and "configs" in entry:
        raise ConfigError(f"{source}: {where} has both `config` and `configs`; give one (a file, or a folder)")
    if "configs" in entry:
        if "id" in entry:
            raise ConfigError(f"{source}: {where}: `id` names one model; a `configs` folder gives each config "
                              f"its id from its `name` (or file stem)")
        folder = base / str(entry["configs"])
        if not folder.is_dir():
            raise ConfigError(f"{source}: {where}: configs folder {folder} not found")
        files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
        if not files:
            raise ConfigError(f"{source}: {where}: no *.yaml configs in {folder}")
        return [(f, _config_name(f, source, where)) for f in files]
    if "config" in entry:
        config = base / str(entry["config"])
        if not config.is_file():
            raise ConfigError(f"{source}: {where}: config {config} not found; fix the path (relative to the "
                              f"portfolio file)")
        return [(config, _config_name(config, source, where))]
    return [(None, None)]


def _config_name(config: Path, source: str, where: str) -> str:
    """The config's own ``name`` when it has one, else its file stem (a model's default id)."""
    try:
        raw = yaml.safe_load(config.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: {where}: config {config} is not valid YAML ({err})") from err
    name = raw.get("name") if isinstance(raw, dict) else None
    return str(name) if name else config.stem


def _job(entry: dict, config: Path | None, default_id: str | None, base: Path, runs_root: Path, source: str,
         where: str,
         steps_default: Any, fit_default: dict, optimize_default: dict) -> ModelJob:
    steps = _steps(entry.get("steps", steps_default), source, where)
    model_id = entry.get("id", default_id)
    if model_id is None:
        parent = entry.get("parent")
        model_id = Path(str(parent)).parent.name if parent else None
    if model_id is None:
        raise ConfigError(f"{source}: {where}: give the model an `id` (or a `config` whose name becomes it)")
    model_id = _name(model_id, source, f"{where}.id")
    where = f"{where} ({model_id})"
    if "fit" in steps and config is None:
        raise ConfigError(f"{source}: {where}: the fit step needs `config`")
    data = base / str(entry["data"]) if "data" in entry else None
    if "refresh" in steps:
        if data is None:
            raise ConfigError(f"{source}: {where}: the refresh step needs `data` (the new periods' CSV)")
        if not data.is_file():
            raise ConfigError(f"{source}: {where}: data {data} not found")
    elif data is not None or "parent" in entry:
        raise ConfigError(f"{source}: {where}: `data` and `parent` are the refresh step's; a fit reads its "
                          f"config's data")
    parent = base / str(entry["parent"]) if "parent" in entry else None
    if parent is not None and not (parent / "manifest.json").is_file():
        raise ConfigError(f"{source}: {where}: parent {parent} is not a run folder (no manifest.json)")
    runs = base / str(entry["runs"]) if "runs" in entry else runs_root / model_id
    fit = {**fit_default, **_fit(entry.get("fit", {}), source, f"{where}.fit")}
    optimize = {**optimize_default, **_optimize(entry.get("optimize", {}), source, f"{where}.optimize")}
    if "optimize" in steps:
        goals = [g for g in GOALS if g in optimize]
        if len(goals) != 1:
            raise ConfigError(f"{source}: {where}: the optimize step needs exactly one goal among "
                              f"{', '.join(GOALS)} (in `optimize:`, the model's or the portfolio's); got "
                              f"{', '.join(goals) or 'none'}")
    elif "optimize" in entry:
        raise ConfigError(f"{source}: {where}: `optimize` options are set but the steps have no optimize")
    written = {**entry, "config": config.name if "configs" in entry and config is not None else entry.get("config")}
    return ModelJob(id=model_id, steps=steps, runs=runs, config=config, data=data, parent=parent, fit=fit,
                    optimize=optimize, written=written)


def _steps(value: Any, source: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{source}: {where}: `steps` must be a list, e.g. [fit] or [refresh, compare, optimize]")
    unknown = [s for s in value if s not in STEPS]
    if unknown:
        raise ConfigError(f"{source}: {where}: unknown step {unknown[0]!r}; steps are {', '.join(STEPS)}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{source}: {where}: a step is listed twice in {value}")
    if ("fit" in value) == ("refresh" in value):
        raise ConfigError(f"{source}: {where}: steps need exactly one of fit (a new model) or refresh (last "
                          f"quarter's model on new data); got {value}")
    if "fit" in value and ({"backtest", "compare"} & set(value)):
        raise ConfigError(f"{source}: {where}: backtest and compare look back at a parent run: they follow "
                          f"refresh, not fit")
    return tuple(s for s in STEPS if s in value)


def _fit(raw: Any, source: str, where: str) -> dict[str, Any]:
    refuse_unknown_keys(raw, FIT_KEYS, source, where)
    for key, value in raw.items():
        if key == "sampler":
            if value not in SAMPLERS:
                raise ConfigError(f"{source}: {where}.sampler must be one of {', '.join(SAMPLERS)}; got {value!r}")
        elif not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "seed" else 1):
            raise ConfigError(f"{source}: {where}.{key} must be a whole number{' >= 0' if key == 'seed' else ' >= 1'}"
                              f"; got {value!r}")
    return dict(raw)


def _optimize(raw: Any, source: str, where: str) -> dict[str, Any]:
    refuse_unknown_keys(raw, OPTIMIZE_KEYS, source, where)
    for key, value in raw.items():
        if key in GOALS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{source}: {where}.{key} must be a number; got {value!r}")
        if key in ("periods", "lookback", "max_draws") and (isinstance(value, bool) or not isinstance(value, int)
                                                             or value < 1):
            raise ConfigError(f"{source}: {where}.{key} must be a whole number >= 1; got {value!r}")
        if key == "by_geo" and not isinstance(value, bool):
            raise ConfigError(f"{source}: {where}.by_geo must be true or false; got {value!r}")
        if key in ("objective", "flighting", "bounds") and not isinstance(value, str):
            raise ConfigError(f"{source}: {where}.{key} must be text (as `mmm optimize --{key}` takes it); "
                              f"got {value!r}")
    return dict(raw)


def optimize_arguments(options: dict[str, Any], base: Path) -> list[str]:
    """``options`` as ``mmm optimize`` flags (``bounds`` relative to the portfolio file's folder)."""
    argv: list[str] = []
    for key, value in options.items():
        flag = f"--{key.replace('_', '-')}"
        if key == "by_geo":
            argv += [flag] if value else []
        elif key == "bounds":
            argv += [flag, str(base / value)]
        else:
            argv += [flag, str(value)]
    return argv


def fit_arguments(options: dict[str, Any]) -> list[str]:
    return [arg for key, value in options.items() for arg in (f"--{key}", str(value))]
