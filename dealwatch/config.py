"""The configuration: a TOML file (dealwatch.toml by default), environment interpolation, defaults.

    [warehouse]
    path = "warehouse/dealwatch.duckdb"

    [profile]                       # what story is tracked; the bundled TikTok profile by default
    path = "my-deal.toml"

    feeds = ["https://example.org/feed.xml", ...]     # or [[feeds]] tables with url = "..."

    [notify]
    urls = ["mailtos://bot:${SMTP_PASSWORD}@mail.example.org?to=me@example.org"]
    config = ["apprise.yml"]        # apprise config files, with tags
    digest_threshold = 10           # more new alerts than this in one cycle: one digest instead
    min_interval = 2.0              # seconds between two messages to one service (default: apprise's)

    [fetch]                         # see dealwatch.fetch.FetchSettings for every field
    deadline = 20.0                 # seconds for one request in all
    contact_url = "https://example.org/who-runs-this-bot"   # named in the User-Agent

    [scale]                         # the CPU work on a Dask cluster (README, "Past one machine")
    dask_scheduler = "tcp://scheduler.example.org:8786"   # else $DEALWATCH_DASK_SCHEDULER, else this machine
    shards = 2                      # the monitor deployment's cycle: 2 shard runs at once (docs/scale-out.md)

`${NAME}` in any string is replaced by the environment variable NAME, so secrets stay out of the file;
a variable that is not set is an error naming it. Resolved values are never printed.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_NAME = "dealwatch.toml"
DEFAULT_WAREHOUSE = Path("warehouse") / "dealwatch.duckdb"
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


from dealwatch.errors import ConfigError  # noqa: E402  (re-exported)


@dataclass(frozen=True)
class Config:
    source: Path | None = None              # the file it came from, None for built-in defaults
    feeds: tuple[str, ...] = ()
    warehouse: Path | str = DEFAULT_WAREHOUSE   # a file, or a lake's address "ducklake:postgres:<conninfo>"
    data_path: str | None = None            # a lake's data directory (docs/scale-out.md)
    profile: Path | None = None             # None: the bundled TikTok profile
    notify_urls: tuple[str, ...] = ()
    notify_configs: tuple[Path, ...] = ()
    digest_threshold: int = 10
    notify_min_interval: float | None = None   # seconds between two messages to one service (apprise's default)
    fetch: dict[str, Any] = field(default_factory=dict)
    dask_scheduler: str | None = None       # None: the cycle's CPU work in a local process pool
    shards: int = 1                         # a deployed cycle runs as this many shard runs at once


def default_feeds() -> tuple[str, ...]:
    """The bundled list of public English and German news feeds (dealwatch/default_feeds.toml)."""
    text = (resources.files("dealwatch") / "default_feeds.toml").read_text(encoding="utf-8")
    return tuple(feed["url"] for feed in tomllib.loads(text)["feeds"])


def interpolate(value: Any, where: str) -> Any:
    """Replace ${NAME} with the environment's value, recursively; a missing variable is a ConfigError."""
    if isinstance(value, str):
        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where} refers to the environment variable {name}, which is not set: "
                                  f"export {name}=... before running dealwatch")
            return os.environ[name]
        return _ENV_REFERENCE.sub(replace, value)
    if isinstance(value, list):
        return [interpolate(v, where) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, f"{where}.{k}") for k, v in value.items()}
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list of strings")
    out = []
    for entry in value:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            out.append(entry["url"])
        elif isinstance(entry, str):
            out.append(entry)
        else:
            raise ConfigError(f"{where} must be a list of URLs (strings, or tables with url = \"...\")")
    return tuple(out)


def _warehouse_path(base: Path, value: str) -> Path | str:
    """A file relative to the config's folder, or a lake's address as it is."""
    from dealwatch.warehouse import is_lake
    return value if is_lake(value) else base / value


def _data_path(base: Path, value: str | None) -> str | None:
    """A lake's data directory relative to the config's folder; a URL (s3://...) as it is."""
    if not value:
        return None
    return value if "://" in value else str(base / value)


def load_config(path: str | Path | None = None) -> Config:
    """The config from path; without one, ./dealwatch.toml if it exists, else the built-in defaults."""
    if path is None:
        candidate = Path(DEFAULT_CONFIG_NAME)
        if not candidate.exists():
            return Config(feeds=default_feeds())
        path = candidate
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no config file at {path}: create it (see README, 'Configuration') or leave out --config")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the config file {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    known = {"feeds", "warehouse", "profile", "notify", "fetch", "scale"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    base = path.parent
    feeds = _strings(raw["feeds"], f"{path}: feeds") if "feeds" in raw else default_feeds()
    warehouse = raw.get("warehouse", {})
    profile = raw.get("profile", {})
    notify = raw.get("notify", {})
    fetch = raw.get("fetch", {})
    scale = raw.get("scale", {})
    for name, table in (("warehouse", warehouse), ("profile", profile), ("notify", notify), ("fetch", fetch),
                        ("scale", scale)):
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
    threshold = notify.get("digest_threshold", 10)
    if not isinstance(threshold, int) or threshold < 0:
        raise ConfigError(f"{path}: notify.digest_threshold must be a whole number >= 0")
    min_interval = notify.get("min_interval")
    if min_interval is not None and (not isinstance(min_interval, (int, float)) or min_interval < 0):
        raise ConfigError(f"{path}: notify.min_interval must be a number of seconds >= 0")
    fetch = interpolate(fetch, f"{path}: fetch")
    unknown = sorted(set(scale) - {"dask_scheduler", "shards"})
    if unknown:
        raise ConfigError(f"{path}: [scale]: unknown setting(s) {', '.join(unknown)}; known: dask_scheduler, shards")
    shards = scale.get("shards", 1)
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 1024:
        raise ConfigError(f"{path}: scale.shards must be the number of shard runs of a deployed cycle, a whole "
                          f"number from 1 to 1024")
    dask_scheduler = interpolate(scale.get("dask_scheduler"), f"{path}: scale.dask_scheduler")
    if dask_scheduler is not None and (not isinstance(dask_scheduler, str) or not dask_scheduler.strip()):
        raise ConfigError(f"{path}: scale.dask_scheduler must be the scheduler's address, e.g. "
                          f"\"tcp://scheduler.example.org:8786\"")
    from dealwatch.fetch import FetchSettings  # here, not at the top: the config is read before any network
    try:
        FetchSettings.from_options(fetch)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path}: [fetch]: {e}") from e
    return Config(
        source=path,
        feeds=feeds,
        warehouse=_warehouse_path(base, interpolate(warehouse.get("path", str(DEFAULT_WAREHOUSE)), f"{path}: warehouse.path")),
        data_path=_data_path(base, interpolate(warehouse.get("data_path"), f"{path}: warehouse.data_path")),
        profile=base / profile["path"] if "path" in profile else None,
        notify_urls=tuple(interpolate(list(_strings(notify.get("urls", []), f"{path}: notify.urls")),
                                      f"{path}: notify.urls")),
        notify_configs=tuple(base / p for p in _strings(notify.get("config", []), f"{path}: notify.config")),
        digest_threshold=threshold,
        notify_min_interval=min_interval,
        fetch=fetch,
        dask_scheduler=dask_scheduler.strip() if dask_scheduler else None,
        shards=shards,
    )
