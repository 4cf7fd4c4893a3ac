"""``hub status``: the hub's headline figures in one screen — trips saved, 按时办结率, overdue
items per department, dead letters parked and consumer lag (what the operator console shows
first; the figures are :mod:`hub.domain.figures`)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import typer

from hub.cli.context import clients


def register(app: typer.Typer) -> None:
    app.command()(status)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def status(as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON.")) -> None:
    """Trips saved, the on-time rate, overdue items by department, dead letters and consumer lag."""
    from hub.domain.common import CHINA_TZ
    from hub.domain.figures import headline
    from hub.kafka.lag import broker_figures, lag_per_group
    from hub.projections.cases import CaseProjection

    hub = clients()
    projection = CaseProjection(hub)
    projection.catch_up()
    now = datetime.now(timezone.utc)
    midnight = now.astimezone(CHINA_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    cases = projection.all_cases()
    figures, today = headline(cases, now), headline(cases, now, since=midnight)
    lags, parked = broker_figures(hub)
    letters = {t: n for t, n in parked.items() if n}
    lag = lag_per_group(lags)
    if as_json:
        typer.echo(json.dumps({"all": figures.as_json(), "today": today.as_json(),
                               "dead_letters": letters, "consumer_lag": lag}, ensure_ascii=False, indent=2))
        return
    f = figures
    lines = [
        f"Once-Only Hub ({hub.settings.topic_prefix}) at {now:%Y-%m-%d %H:%M:%S} UTC",
        f"trips saved (items completed in the back office): {f.trips_saved} of {f.items} items "
        f"(today: {today.trips_saved})",
        f"cases: {f.cases} (completed {f.cases_completed}, in progress {f.cases_in_progress}, "
        f"waiting for documents {f.cases_pending_supplement})",
        f"on-time rate (按时办结率): {_percent(f.on_time_rate)}; items overdue now: {f.items_overdue}",
    ]
    if f.departments:
        lines.append(f"  {'department':34} {'items':>6} {'open':>5} {'overdue':>8} {'completed':>10} "
                     f"{'rejected':>9} {'failed':>7} {'on time':>8}")
        lines += [f"  {d.department:34} {d.items:6} {d.open:5} {d.overdue:8} {d.completed:10} "
                  f"{d.rejected:9} {d.failed:7} {_percent(d.on_time_rate):>8}" for d in f.departments]
    lines.append(f"dead letters parked: {sum(letters.values())}"
                 + (f" ({', '.join(f'{t}: {n}' for t, n in sorted(letters.items()))})" if letters else ""))
    lines.append("consumer lag: " + (", ".join(f"{g} {n}" for g, n in sorted(lag.items())) or "no consumer groups"))
    typer.echo("\n".join(lines))
