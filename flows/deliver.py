"""deliver-alerts: send the outbox's due alerts now, outside a cycle.

Deployed with a trigger on the dealwatch.bidder.new / dealwatch.deadline.new events a cycle emits for a
stored batch as soon as another batch follows (deployments/), so alerts go out while the cycle is still
fetching; the last batch's events follow the cycle's own delivery of the outbox at its end. The outbox's
claims (Warehouse.claim_alerts, with a lease) make sure the two never send the same alert, so users get
every alert exactly once either way, with or without a Prefect server that runs automations.
"""
from __future__ import annotations

from prefect import flow, get_run_logger
from pydantic import SecretStr

from dealwatch.profile import load_profile
from dealwatch.warehouse import Warehouse
from flows.monitor import deliver_alerts, from_config


@flow(name="dealwatch-deliver-alerts", log_prints=False, validate_parameters=True)
def deliver(db: str | None = None, notify: list[SecretStr] | None = None, notify_configs: list[str] | None = None,
            digest_threshold: int | None = None, notify_min_interval: float | None = None,
            config: str | None = None, profile: str | None = None) -> dict[str, int]:
    """Deliver the due alerts of the warehouse `db`; parameters left None come from the config file
    `config`, read at run time (see flows.monitor.from_config). Returns sent / failed / waiting counts.
    Each alert names the target it was raised under; the profile's label those raised before that was stored."""
    p = from_config(config, db=db, notify=notify, notify_configs=notify_configs, digest_threshold=digest_threshold,
                    notify_min_interval=notify_min_interval, profile=profile)
    Warehouse(p["db"]).migrate()  # a fresh warehouse has no outbox yet: nothing to send, no error
    report = deliver_alerts(p["db"], p["notify"], p["notify_configs"], p["digest_threshold"],
                            p["notify_min_interval"], load_profile(p["profile"]).label)
    get_run_logger().info("alerts: %(alerts_sent)d sent, %(alerts_failed)d failed, %(alerts_waiting)d waiting "
                          "(no notification URL)", report)
    return report
