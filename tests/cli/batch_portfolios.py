"""Small synthetic portfolios for the batch tests and notebook 06: each model its own generated dataset and config,
small enough that one fit (104 weeks, 2 channels, 2 x (800 + 800) draws, one specification) takes seconds and
still passes the package's convergence gate."""

from __future__ import annotations

from pathlib import Path

import yaml

from mmm.data.synth import SynthSpec, generate, write

FIT = {"draws": 800, "tune": 800, "chains": 2, "seed": 1}
PERIODS, NEW_PERIODS = 104, 13


def write_model(folder: Path, seed: int, name: str) -> Path:
    """A generated dataset and its config (one specification: workers do not see the tests' conftest).
    ``data.csv`` holds the first 104 weeks, ``next.csv`` those and the next quarter's 13."""
    result = generate(SynthSpec(seed=seed, n_periods=PERIODS + NEW_PERIODS, n_channels=2, controls=False))
    write(result, folder)
    data = result.data.assign(date=result.data["date"].dt.strftime("%Y-%m-%d"))
    data.to_csv(folder / "next.csv", index=False)
    data.iloc[:PERIODS].to_csv(folder / "data.csv", index=False)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["name"] = name
    config["model"] = {**config.get("model", {}), "candidates": "none"}
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder / "config.yaml"


def write_broken(folder: Path, good_model: Path) -> Path:
    """A config naming a spend column its data does not have: bad input (exit 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(good_model.read_text())
    config["name"] = "broken"
    config["data"]["path"] = str(good_model.parent / "data.csv")
    config["channels"]["tv"] = {**config["channels"]["tv"], "spend": "tv_spend_typo"}
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder / "config.yaml"


def write_portfolio(folder: Path, n_models: int, *, broken: bool = False, label: str = "q1",
                    steps: list[str] | None = None) -> Path:
    """``portfolio.yaml`` in ``folder`` with models brand0.. (and a broken one last)."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(n_models):
        write_model(folder / f"brand{i}", seed=i, name=f"brand{i}")
        entries.append({"config": f"brand{i}/config.yaml"})
    if broken:
        write_broken(folder / "broken", folder / "brand0" / "config.yaml")
        entries.append({"config": "broken/config.yaml"})
    portfolio = {"name": "brands", "label": label, "fit": FIT, "models": entries}
    if steps:
        portfolio["steps"] = steps
    path = folder / "portfolio.yaml"
    path.write_text(yaml.safe_dump(portfolio, sort_keys=False))
    return path
