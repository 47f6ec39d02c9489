"""The migrations dashboard: a server-rendered page over the same JSON document as `turnout migrations --json`."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..migration.api import migrations_document
from ..migration.model import Migration, Stage
from ..migration.report import instances_text, rollout_text
from ..migration.stages import move_stage
from ..migration.store import StageConflict
from ..migration.store_protocol import MigrationStore
from ..supergraph.model import SupergraphModel

__all__ = ["Authorize", "dashboard_routes", "render_dashboard"]

_STAGE_COLORS = {
    "monolith": "#6b7280",
    "side_by_side": "#2563eb",
    "migrated": "#059669",
    "removed": "#7c3aed",
}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _chart(
    points: list[dict[str, Any]], series: list[tuple[str, str, str]], *, title: str, percent: bool, label: str
) -> str:
    """An inline SVG line chart: one polyline per (key, colour, name) over the time series."""
    width, height, pad = 520, 150, 32
    values = [p[key] for p in points for key, _c, _n in series if p.get(key) is not None]
    if not points or not values:
        return (
            f'<figure class="chart" data-chart="{_e(label)}"><figcaption>{_e(title)}</figcaption>'
            '<svg width="520" height="150" role="img"><text x="20" y="80" class="muted">no data yet</text></svg>'
            "</figure>"
        )
    top = 1.0 if percent else max(values) * 1.15 or 1.0
    span = max(len(points) - 1, 1)

    def xy(index: int, value: float) -> str:
        x = pad + (width - 2 * pad) * index / span
        y = height - pad - (height - 2 * pad) * (value / top)
        return f"{x:.1f},{y:.1f}"

    lines = []
    legend = []
    for n, (key, colour, name) in enumerate(series):
        coords = [xy(i, p[key]) for i, p in enumerate(points) if p.get(key) is not None]
        if coords:
            lines.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(coords)}"/>'
            )
            for coord in coords:
                cx, cy = coord.split(",")
                lines.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
        legend.append(f'<text x="{pad + 130 * n}" y="14" fill="{colour}">■ {_e(name)}</text>')
    axis_top = "100%" if percent else f"{top:.0f} ms"
    first = str(points[0].get("hour", ""))[11:16]
    last = str(points[-1].get("hour", ""))[11:16]
    return (
        f'<figure class="chart" data-chart="{_e(label)}"><figcaption>{_e(title)}</figcaption>'
        f'<svg width="{width}" height="{height}" role="img" aria-label="{_e(title)}">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#d1d5db"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#d1d5db"/>'
        f'<text x="2" y="{pad + 4}" class="axis">{axis_top}</text>'
        f'<text x="{pad}" y="{height - 8}" class="axis">{_e(first)} UTC</text>'
        f'<text x="{width - pad - 40}" y="{height - 8}" class="axis">{_e(last)}</text>'
        + "".join(legend)
        + "".join(lines)
        + "</svg></figure>"
    )


def _inventory(rows: list[dict[str, Any]]) -> str:
    body = []
    for row in rows:
        ev = row["evidence"]
        stage = row["stage"]
        rollout = rollout_text(row)
        days = "-" if row["days_in_stage"] is None else f"{row['days_in_stage']:.1f}"
        ready = row["removal"] or row["readiness"]
        verdict = "ready" if row["ready"] else ("final" if row["ready"] is None else "blocked")
        body.append(
            f'<tr data-migration="{_e(row["name"])}">'
            f'<td><a href="#m-{_e(row["name"])}">{_e(row["name"])}</a><div class="muted">'
            f"{_e(row['from'])} → {_e(row['to'])}</div></td>"
            f'<td class="fields">{"<br>".join(_e(f) for f in row["fields"])}</td>'
            f'<td><span class="stage" style="background:{_STAGE_COLORS.get(stage, "#444")}">{_e(stage)}</span></td>'
            f'<td>{_e(rollout)}</td><td class="instances">{_e(instances_text(row))}</td><td>{days}</td>'
            f"<td>{ev['comparisons']}</td>"
            f'<td class="rate">{_pct(ev["match_rate"])}</td><td>{ev["noise"]}</td><td>{ev["fallbacks"]}</td>'
            f"<td>{_ms(ev['latency_from_ms'][0])} / {_ms(ev['latency_to_ms'][0])}</td>"
            f'<td class="verdict {verdict}">{_e(row["next_stage"] or "")}{": " if row["next_stage"] else ""}'
            f"{_e(ready)}</td></tr>"
        )
    return (
        '<table id="inventory"><thead><tr><th>migration</th><th>fields</th><th>stage</th><th>rollout</th>'
        "<th>instances</th><th>days in stage</th><th>comparisons</th><th>match rate</th><th>noise</th><th>fallbacks</th>"
        "<th>p50 from / to</th><th>readiness</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _diff_groups(row: dict[str, Any]) -> str:
    groups = row["diff_groups"]
    if not groups:
        return '<p class="muted">No differences recorded.</p>'
    out = []
    for group in groups:
        if group["noise"]:
            status = '<span class="tag noise">noise</span>'
        elif group["acknowledged_until"] and group["acknowledged_until"] > datetime.now(UTC).isoformat():
            status = (
                f'<span class="tag ack">acknowledged until {_e(group["acknowledged_until"][:16])}</span>'
                f'<div class="muted">{_e(group["acknowledged_by"])}: {_e(group["acknowledged_reason"])}</div>'
            )
        else:
            status = '<span class="tag open">open</span>'
        samples = "".join(
            f'<tr><td class="path">{_e(s["path"])}</td><td class="old">{_e(s["primary"])}</td>'
            f'<td class="new">{_e(s["candidate"])}</td></tr>'
            for s in group["samples"]
        )
        form = (
            ""
            if group["noise"]
            else (
                f'<form class="ack" data-signature="{_e(group["signature"])}">'
                '<input name="reason" placeholder="why this is acceptable" required>'
                '<select name="days"><option value="1">1 day</option><option value="7" selected>7 days</option>'
                '<option value="30">30 days</option></select><button type="submit">Acknowledge</button></form>'
            )
        )
        out.append(
            f'<div class="diff-group" data-signature="{_e(group["signature"])}">'
            f'<div class="diff-head"><code>{_e(group["coordinate"])}</code> in <b>{_e(group["operation"])}</b> '
            f"· {_e(group['kind'])} · {group['count']} times {status}</div>"
            f'<table class="samples"><thead><tr><th>path</th><th>old ({_e(row["from"])})</th>'
            f"<th>new ({_e(row['to'])})</th></tr></thead><tbody>{samples}</tbody></table>{form}</div>"
        )
    return "".join(out)


def _fields(row: dict[str, Any]) -> str:
    """Per migrating field: its coverage, its values that differed, its fallbacks, and its noise rates."""
    body = []
    for field in row["field_evidence"]:
        noise = field["noise"]

        def share(differing: int, values: int) -> str:
            return f"{differing}/{values} ({_pct(differing / values)})" if values else "-"

        verdict = '<span class="tag noise">noise</span>' if noise["noisy"] else ""
        body.append(
            f'<tr data-coordinate="{_e(field["coordinate"])}"><td><code>{_e(field["coordinate"])}</code>'
            f"{' <span class=muted>rare</span>' if field['rare'] else ''}</td>"
            f"<td>{field.get('comparisons', 0)}</td><td>{field.get('operations', 0)}</td>"
            f'<td class="differing">{share(field.get("differing", 0), field.get("values", 0))}</td>'
            f'<td class="fallbacks">{field.get("fallbacks", 0)}</td>'
            f'<td class="noise">{share(noise["itself_differing"], noise["itself_values"])} {verdict}</td></tr>'
        )
    return (
        '<table class="fields"><thead><tr><th>field</th><th>comparisons</th><th>operations</th>'
        "<th>values differing</th><th>fallbacks</th><th>old vs old (noise runs)</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _move_form(row: dict[str, Any]) -> str:
    """Move the migration (through its gate; the admin token's holder is recorded): next stage preselected."""
    chosen = row["next_stage"] or row["stage"]
    options = "".join(
        f'<option value="{s.value}"{" selected" if s.value == chosen else ""}>{s.value}</option>'
        for s in Stage
    )
    return (
        f'<form class="move" data-migration="{_e(row["name"])}">move to <select name="to">{options}</select>'
        '<input name="percent" type="number" min="0" max="100" step="any" placeholder="percent">'
        '<input name="reason" placeholder="why now" required><button type="submit">Move</button></form>'
    )


def _log(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return '<p class="muted">No stage changes yet.</p>'
    rows = "".join(
        f"<tr><td>{_e(e['at'][:19].replace('T', ' '))}</td><td>{_e(e['name'])}</td>"
        f"<td>{_e(e['from'])} → {_e(e['to'])}{' ' + format(e['percent'], 'g') + '%' if e['to'] == 'migrated' else ''}"
        f"</td><td>{_e(e['by'])}</td><td>{_e(e['reason'])}{' (forced)' if e['forced'] else ''}</td></tr>"
        for e in entries
    )
    return (
        '<table id="log"><thead><tr><th>when (UTC)</th><th>migration</th><th>change</th><th>by</th>'
        f"<th>why</th></tr></thead><tbody>{rows}</tbody></table>"
    )


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111827;background:#f9fafb}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px} .muted{color:#6b7280;font-size:12px}
table{border-collapse:collapse;background:#fff;width:100%;margin:6px 0}
th,td{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600;font-size:12px}
.stage{color:#fff;border-radius:4px;padding:2px 6px;font-size:12px}
.verdict.ready{color:#047857} .verdict.blocked{color:#b91c1c}
.charts{display:flex;gap:16px;flex-wrap:wrap} .chart{margin:0;background:#fff;padding:8px;border:1px solid #e5e7eb}
.chart figcaption{font-size:12px;color:#374151} .axis{font-size:10px;fill:#6b7280} svg text{font-size:11px}
.diff-group{background:#fff;border:1px solid #e5e7eb;padding:8px;margin:8px 0}
.old{background:#fef2f2} .new{background:#ecfdf5} .path{font-family:monospace;font-size:12px}
.tag{border-radius:4px;padding:1px 6px;font-size:12px} .open{background:#fee2e2} .noise{background:#e5e7eb}
.ack{margin-top:6px} .ack input{width:280px} code{font-size:13px}
.move{margin:6px 0} .move input[name=reason]{width:240px} .move input[name=percent]{width:80px}
section.migration{border-top:2px solid #e5e7eb;margin-top:24px}
"""

_SCRIPT = """
document.querySelectorAll('form.ack').forEach(function (form) {
  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    const data = new FormData(form);
    let token = sessionStorage.getItem('turnout-admin-token');
    if (!token) { token = prompt('Admin token (the write is recorded under its name)') || ''; }
    const response = await fetch('api/ack', {method: 'POST', headers: {'content-type': 'application/json',
      'authorization': 'Bearer ' + token},
      body: JSON.stringify({signature: form.dataset.signature, reason: data.get('reason'),
                            days: Number(data.get('days'))})});
    if (response.ok) { sessionStorage.setItem('turnout-admin-token', token); }
    if (response.status === 401) { sessionStorage.removeItem('turnout-admin-token'); }
    if (response.ok) { location.reload(); } else { alert(await response.text()); }
  });
});
document.querySelectorAll('form.move').forEach(function (form) {
  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    const data = new FormData(form);
    let token = sessionStorage.getItem('turnout-admin-token');
    if (!token) { token = prompt('Admin token (the move is recorded under its name)') || ''; }
    const percent = data.get('percent');
    const response = await fetch('api/move', {method: 'POST', headers: {'content-type': 'application/json',
      'authorization': 'Bearer ' + token},
      body: JSON.stringify({name: form.dataset.migration, to: data.get('to'), reason: data.get('reason'),
                            percent: percent === '' ? null : Number(percent)})});
    if (response.ok) { sessionStorage.setItem('turnout-admin-token', token); location.reload(); return; }
    if (response.status === 401) { sessionStorage.removeItem('turnout-admin-token'); }
    const text = await response.text();
    try { alert('Not moved:\\n' + JSON.parse(text).reasons.join('\\n')); } catch (e) { alert(text); }
  });
});
setInterval(function () {
  const active = document.activeElement;
  if (!active || (active.tagName !== 'INPUT' && active.tagName !== 'SELECT')) { location.reload(); }
}, REFRESH_MS);
"""


def render_dashboard(document: dict[str, Any], *, refresh_seconds: float = 10.0) -> str:
    """The whole page, from the JSON document."""
    rows = document["migrations"]
    sections = []
    for row in rows:
        points = row["timeseries"]
        charts = _chart(
            points,
            [("match_rate", "#2563eb", "match rate")],
            title="Match rate over time",
            percent=True,
            label="match-rate",
        ) + _chart(
            points,
            [("p50_from_ms", "#6b7280", f"p50 {row['from']}"), ("p50_to_ms", "#059669", f"p50 {row['to']}")],
            title="Latency, old vs new (p50)",
            percent=False,
            label="latency",
        )
        blockers = "".join(f"<li>{_e(b)}</li>" for b in row["blockers"])
        since = row.get("gate_evidence_since")
        judged = (
            f'<div class="muted gate-since">the gates judge the evidence since '
            f"{_e(since[:19].replace('T', ' '))} UTC</div>"
            if since and blockers
            else ""
        )
        sections.append(
            f'<section class="migration" id="m-{_e(row["name"])}"><h2>{_e(row["name"])} '
            f'<span class="muted">{_e(row["stage"])}</span></h2>'
            + (f'<ul class="blockers">{blockers}</ul>' if blockers else "")
            + judged
            + _move_form(row)
            + f'<div class="charts">{charts}</div><h3>Fields</h3>{_fields(row)}'
            + f"<h3>Differences</h3>{_diff_groups(row)}</section>"
        )
    script = _SCRIPT.replace("REFRESH_MS", str(int(refresh_seconds * 1000)))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>turnout · migrations</title>"
        f"<style>{_STYLE}</style></head><body><h1>turnout · migrations</h1>"
        f'<div class="muted">generated {_e(document["generated_at"][:19].replace("T", " "))} UTC · '
        f'refreshes every {refresh_seconds:g}s · <a href="api">JSON</a></div>'
        f"{_inventory(rows)}{''.join(sections)}<h2>Stage changes</h2>{_log(document['log'])}"
        f"<script>{script}</script></body></html>"
    )


Authorize = Callable[[Request, bool], "str | Response"]
"""Who makes a request (the name its credentials are recorded under), or the refusal to send; the flag says
whether the request writes."""


async def _json_object(request: Request) -> dict[str, Any] | Response:
    """A write's body: a JSON object, or the refusal to send."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return Response("send application/json", status_code=415)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return Response("the body is not JSON", status_code=400)
    if not isinstance(body, dict):
        return Response("send a JSON object", status_code=400)
    return body


def dashboard_routes(
    migrations: Callable[[], list[Migration]],
    store: MigrationStore,
    model: Callable[[], SupergraphModel | None],
    authorize: Authorize,
    *,
    prefix: str = "/migrations",
) -> list[Route]:
    """`/migrations` (the page), `/migrations/api` (the JSON document), `POST /migrations/api/ack`; every
    request passes `authorize` first."""

    async def document() -> dict[str, Any]:
        return await asyncio.to_thread(migrations_document, migrations(), store, model())

    async def page(request: Request) -> Response:
        who = authorize(request, False)
        if isinstance(who, Response):
            return who
        return HTMLResponse(render_dashboard(await document()))

    async def api(request: Request) -> Response:
        who = authorize(request, False)
        if isinstance(who, Response):
            return who
        return Response(orjson.dumps(await document()), media_type="application/json")

    async def ack(request: Request) -> Response:
        who = authorize(request, True)
        if isinstance(who, Response):
            return who
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        signature, reason, days = body.get("signature"), body.get("reason"), body.get("days", 7)
        if not isinstance(signature, str) or not isinstance(reason, str) or not reason.strip():
            return Response("signature and a reason are required", status_code=400)
        if not isinstance(days, int | float) or not 0 < days <= 365:
            return Response("days must be between 0 and 365", status_code=400)
        by = who  # the holder of the credentials, never what the body claims
        until = datetime.now(UTC) + timedelta(days=float(days))
        done = await asyncio.to_thread(store.acknowledge, signature, until=until, by=by, reason=reason[:500])
        if not done:
            return Response("no such diff group", status_code=404)
        return Response(
            orjson.dumps({"signature": signature, "until": until.isoformat(), "by": by}),
            media_type="application/json",
        )

    async def move(request: Request) -> Response:
        """Move a migration to a stage, through the gate (migration.stages.move_stage: the CLI's use case, never
        forced from here), recorded under the token's holder."""
        who = authorize(request, True)
        if isinstance(who, Response):
            return who
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        name, to, reason, percent = body.get("name"), body.get("to"), body.get("reason"), body.get("percent")
        found = {m.name: m for m in migrations()}
        if not isinstance(name, str) or name not in found:
            return Response("no such migration", status_code=404)
        try:
            target = Stage(str(to))
        except ValueError:
            return Response(f"to must be one of {', '.join(s.value for s in Stage)}", status_code=400)
        if not isinstance(reason, str) or not reason.strip():
            return Response("a reason is required", status_code=400)
        if percent is not None and (
            isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100
        ):
            return Response("percent must be between 0 and 100", status_code=400)
        try:
            moved = await asyncio.to_thread(
                move_stage,
                store,
                found[name],
                target,
                by=who,
                reason=reason[:500],
                percent=None if percent is None else float(percent),
                model=model(),
            )
        except StageConflict as conflict:
            return Response(f"{conflict}\n", status_code=409, media_type="text/plain")
        if not moved.verdict.ok:
            return Response(
                orjson.dumps({"moved": False, "reasons": list(moved.verdict.reasons)}),
                status_code=409,
                media_type="application/json",
            )
        change = moved.change
        return Response(
            orjson.dumps(
                {
                    "moved": change is not None,
                    "stage": str(target),
                    "percent": change.percent if change is not None else moved.state.percent,
                    "by": who,
                }
            ),
            media_type="application/json",
        )

    async def redirect(_request: Request) -> Response:
        return Response(status_code=307, headers={"location": f"{prefix}/"})

    return [
        Route(prefix, redirect, methods=["GET"]),
        Route(f"{prefix}/", page, methods=["GET"]),
        Route(f"{prefix}/api", api, methods=["GET"]),
        Route(f"{prefix}/api/ack", ack, methods=["POST"]),
        Route(f"{prefix}/api/move", move, methods=["POST"]),
    ]
