"""The review page in the browser (`srsform review web`): a small Starlette app on uvicorn.

It shows one decision at a time: an item's line at true scale with the reading drawn on it,
the whole page (zoomable), the reasons and the suggested value; one or two keys decide.

Security: it listens on 127.0.0.1. Every address starts with a random token, printed once on
stderr; a request without it is refused (403) before anything else runs. A POST must also
carry the page's CSRF token in a header (a form on another site cannot set one) and, when the
browser names its origin, come from this server's own. The page loads nothing from elsewhere:
CSS and JavaScript are inline (scripts run only with the response's nonce), and images are
the store's own evidence files, looked up by page id and item key, never by a path from the
URL.

Two reviewers at once: each decision carries the id of the item's latest trail entry as it
was shown (`seen`); review.decide refuses it (409) when someone decided the item since, and
the page says who did and what. The trail is append-only, so no decision is ever lost.

Only this module imports the web libraries, and only `srsform review web` imports it.
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import socket
import threading
import time
import webbrowser
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ConfigError, DecidedMeanwhile, TemplateError
from ..form.layout import MARK_ZONE_HALF_HEIGHT_MM
from ..form.templates import bundled_names, load_template
from ..records import AuditItem, Correction, ItemScore, PageResult, StoredPage
from ..store import Store
from . import review

CROP_HEIGHT_MM = 2 * MARK_ZONE_HALF_HEIGHT_MM
# What each key records as the reason unless the reviewer edits it (kept in the browser).
DEFAULT_REASONS = {
    "accept": "the mark is where it was read",
    "score": "read from the line at true scale",
    "mm": "measured from the line's left end",  # the position is added to it
    "missing": "no mark on the line",
    "not_a_form": "not a form",
    "accept_page": "checked the page: it is the form it was read as",
}
_NOT_ALLOWED = "forbidden: open the address srsform printed (with its token)"


# --- the server --------------------------------------------------------------------------

def serve(store_path: Path, *, host: str = "127.0.0.1", port: int = 0, who: str = "",
          open_browser: bool = False, announce: Callable[[str], None] = print) -> None:
    """Serve the review page until Ctrl-C; `announce` is given its address (with the token)
    once it listens."""
    server, sock, url = _server(store_path, host, port, who)
    announce(url)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stops cleanly, then passes Ctrl-C on
        pass


@contextmanager
def running(store_path: Path, *, who: str = "", host: str = "127.0.0.1", port: int = 0
            ) -> Iterator[str]:
    """The review page served on a thread while the block runs (tests, benchmarks): yields
    its address, with the token; always stopped on leaving."""
    server, sock, url = _server(store_path, host, port, who)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the review page did not start")
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def _server(store_path: Path, host: str, port: int, who: str
            ) -> tuple[uvicorn.Server, socket.socket, str]:
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.bind((host, port))
        sock.listen(64)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host} port {port}: {exc.strerror or exc} "
                          "(choose another --port)") from None
    bound = sock.getsockname()[1]
    token = secrets.token_urlsafe(24)
    app = make_app(store_path, token, who=who, hosts=(host, "localhost", "127.0.0.1"))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    shown = f"[{host}]" if ":" in host else host
    return uvicorn.Server(config), sock, f"http://{shown}:{bound}/{token}/"


class _Gate:
    """Refuses, before anything else runs: a request whose path does not start with the
    token, a Host other than ours (DNS rebinding), and a POST without the CSRF token or from
    another origin."""

    def __init__(self, app: ASGIApp, token: str, csrf: str, hosts: tuple[str, ...]) -> None:
        self.app, self.token, self.csrf, self.hosts = app, token.encode(), csrf.encode(), hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            await PlainTextResponse(_NOT_ALLOWED, 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        first = scope["path"].split("/", 2)[1].encode() if scope["path"][1:] else b""
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if not hmac.compare_digest(first, self.token) or _hostname(host) not in self.hosts:
            return False
        if scope["method"] in ("GET", "HEAD"):
            return True
        origin = headers.get(b"origin")
        return (hmac.compare_digest(headers.get(b"x-csrf-token", b""), self.csrf)
                and (origin is None or origin.decode("latin-1") == f"http://{host}"))


def _hostname(host: str) -> str:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.strip("[]")


def make_app(store_path: Path, token: str, *, who: str = "",
             hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> ASGIApp:
    """The review page's ASGI app for one store, every address under /<token>/."""
    csrf = secrets.token_urlsafe(32)
    pages = _Pages(store_path, f"/{token}", csrf, who)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # The store is opened on the server's own thread: every request runs there.
        with Store(store_path) as store:
            pages.store, pages.waiting = store, review.Waiting(store)
            yield

    routes = [Mount(f"/{token}", routes=[
        Route("/", pages.start),
        Route("/item/{page_id:int}/{key}", pages.item),
        Route("/page/{page_id:int}", pages.page),
        Route("/next/{page_id:int}/{position:int}", pages.next),
        Route("/decide", pages.decide, methods=["POST"]),
        Route("/undo", pages.undo, methods=["POST"]),
        Route("/evidence/{page_id:int}", pages.page_image),
        Route("/crop/{page_id:int}/{key}", pages.crop_image),
    ])]
    return _Gate(Starlette(routes=routes, lifespan=lifespan), token, csrf, hosts)


# --- the views -----------------------------------------------------------------------------

class _Pages:
    """The request handlers, over one store opened when the server starts."""

    def __init__(self, store_path: Path, base: str, csrf: str, who: str) -> None:
        self.store_path, self.base, self.csrf, self.who = store_path, base, csrf, who
        self.store: Store  # these two are set by the app's lifespan
        self.waiting: review.Waiting

    # navigation

    async def start(self, request: Request) -> Response:
        """The first decision waiting, or a page saying nothing waits."""
        first = review.next_in_queue(self.waiting.queue(), None)
        if first is None:
            return self._html("Nothing to review", _DONE.format(
                store=html.escape(str(self.store_path)),
                decisions=len(self.store.corrections())), {})
        return RedirectResponse(self._url(first), 303)

    async def next(self, request: Request) -> Response:
        """The decision after a place in the queue (skipping it), wrapping round."""
        found = self.store.page_by_id(request.path_params["page_id"])
        if found is None:
            return _not_found("no such page")
        after = (*review.page_order(found[1]), found[0].page_id,
                 request.path_params["position"])
        entry = review.next_in_queue(self.waiting.queue(), after)
        return RedirectResponse(self._url(entry) if entry else f"{self.base}/", 303)

    def _url(self, entry: review.ReviewItem) -> str:
        return self._place(entry.page.page_id, entry.key)

    def _place(self, page_id: int, key: str | None) -> str:
        if key is None or key == review.PAGE_KEY:
            return f"{self.base}/page/{page_id}"
        return f"{self.base}/item/{page_id}/{key}"

    # one decision

    async def item(self, request: Request) -> Response:
        return self._decision_view(request, request.path_params["key"])

    async def page(self, request: Request) -> Response:
        return self._decision_view(request, review.PAGE_KEY)

    def _decision_view(self, request: Request, key: str) -> Response:
        page_id = request.path_params["page_id"]
        found = self.store.page_by_id(page_id)
        if found is None:
            return _not_found("no such page in this store")
        page, result = found
        keys = [item.key for item in result.items]
        if key != review.PAGE_KEY and key not in keys:
            return _not_found("no such item on this page")
        trail = self.store.corrections(page_id)
        queue = self.waiting.queue()
        waiting = [e for e in queue if e.page.page_id == page_id]
        entry = next((e for e in waiting if e.trail_key == key), None)
        in_force, _ = review.apply_corrections(result, trail)
        position = 0 if key == review.PAGE_KEY else keys.index(key) + 1
        latest = {c.item_key: c for c in trail}
        saved = request.query_params.get("saved", "")
        view = _View(page=page, result=result, in_force=in_force, key=key, position=position,
                     entry=entry, latest=latest.get(key), page_latest=latest.get(review.PAGE_KEY),
                     evidence=(self.store.item_evidence(page_id, key)
                               if key != review.PAGE_KEY else None),
                     left=len(queue), pages_left=len({e.page.page_id for e in queue}),
                     on_page=[e for e in waiting if e.trail_key != key],
                     saved=self.store.correction(int(saved)) if saved.isdigit() else None)
        data = {
            "csrf": self.csrf, "page_id": page_id, "key": key, "page_key": review.PAGE_KEY,
            "is_page": key == review.PAGE_KEY,
            "seen": view.latest.id if view.latest else 0,
            "page_seen": view.page_latest.id if view.page_latest else 0,
            "undo_id": view.latest.id if view.latest else None,
            "can_accept": view.can_accept(), "tenths": _tenths(result.rule),
            "who_default": self.who, "reasons": DEFAULT_REASONS,
            "urls": {"decide": f"{self.base}/decide", "undo": f"{self.base}/undo",
                     "next": f"{self.base}/next/{page_id}/{position}",
                     "here": self._place(page_id, key)},
        }
        title = f"{key if key != review.PAGE_KEY else 'page'} · {page.ref}"
        return self._html(title, view.render(self.base), data)

    # decisions

    async def decide(self, request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            page, key = self._target(body)
            action = str(body.get("action", ""))
            if action == "score":
                decision = review.parse_decision(str(body.get("score", "")), page.rule)
            elif action == "mm":
                decision = review.mm_decision(str(body.get("mm", "")), page.rule)
            elif action in ("accept", "missing", "not_a_form"):
                decision = review.Decision(action)
            else:
                raise ValueError(f"unknown action '{action}'")
            seen = int(body.get("seen", 0))
            correction = review.decide(self.store, page, key, decision, str(body.get("who", "")),
                                       str(body.get("why", "")), seen=seen)
        except DecidedMeanwhile as exc:
            return JSONResponse({"error": str(exc)}, 409)
        except (ConfigError, ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"id": correction.id, "next": self._after(correction)})

    async def undo(self, request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            correction = review.undo(self.store, int(body.get("correction_id", 0)),
                                     str(body.get("who", "")), str(body.get("why", "")))
        except (ConfigError, ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        here = self._place(correction.page_id, correction.item_key)
        return JSONResponse({"id": correction.id, "next": f"{here}?saved={correction.id}"})

    def _target(self, body: dict) -> tuple[StoredPage, str]:
        found = self.store.page_by_id(int(body.get("page_id", 0)))
        if found is None:
            raise ConfigError("no such page in this store")
        return found[0], str(body.get("key", ""))

    def _after(self, correction: Correction) -> str:
        """Where to go once a decision is saved: the next decision waiting after it."""
        found = self.store.page_by_id(correction.page_id)
        assert found is not None  # it was just decided
        page, result = found
        keys = [item.key for item in result.items]
        position = keys.index(correction.item_key) + 1 if correction.item_key in keys else 0
        after = (*review.page_order(result), page.page_id, position)
        entry = review.next_in_queue(self.waiting.queue(), after)
        return f"{self._url(entry) if entry else self.base + '/'}?saved={correction.id}"

    # evidence, only as the store names it

    async def page_image(self, request: Request) -> Response:
        found = self.store.page_by_id(request.path_params["page_id"])
        return self._evidence(found[0].evidence_path if found else None)

    async def crop_image(self, request: Request) -> Response:
        item = self.store.item_evidence(request.path_params["page_id"],
                                        request.path_params["key"])
        return self._evidence(self.store.beside(item.crop_path) if item else None)

    def _evidence(self, path: str | None) -> Response:
        if path is None:
            return _not_found("no evidence image (scanned with --no-evidence?)")
        file = Path(path).resolve()
        if not file.is_relative_to(self.store.evidence_dir.resolve()) or not file.is_file():
            return _not_found("the evidence image is missing")
        return FileResponse(file, media_type="image/jpeg",
                            headers={"Cache-Control": "private, no-cache"})

    def _html(self, title: str, body: str, data: dict[str, Any]) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        text = _PAGE.format(title=html.escape(title), body=body, nonce=nonce, style=_STYLE,
                            script=_SCRIPT if data else "",
                            data=json.dumps(data).replace("</", "<\\/"))
        return HTMLResponse(text, headers={
            "Content-Security-Policy": (
                "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                f"script-src 'nonce-{nonce}'; connect-src 'self'; form-action 'none'; "
                "frame-ancestors 'none'; base-uri 'none'"),
            "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store"})


async def _json_body(request: Request) -> dict | Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return JSONResponse({"error": "send JSON"}, 415)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "not JSON"}, 400)
    return body if isinstance(body, dict) else JSONResponse({"error": "not an object"}, 400)


def _not_found(message: str) -> Response:
    return PlainTextResponse(message, 404)


def _tenths(rule: str | None) -> bool:
    return rule is not None and "one_decimal" in rule


@lru_cache(maxsize=32)
def _labels(template_id: str | None) -> dict[str, str]:
    """Item key -> its label, for a bundled template (clinic templates show keys only)."""
    if template_id not in bundled_names():
        return {}
    try:
        return {item.key: item.label for item in load_template(template_id).items}
    except TemplateError:
        return {}


# --- what one view shows ----------------------------------------------------------------

class _View:
    """One decision's view: the item (or the page itself), its evidence and its state."""

    def __init__(self, *, page: StoredPage, result: PageResult, in_force: PageResult, key: str,
                 position: int, entry: review.ReviewItem | None, latest: Correction | None,
                 page_latest: Correction | None, evidence: AuditItem | None, left: int,
                 pages_left: int, on_page: list[review.ReviewItem],
                 saved: Correction | None) -> None:
        self.page, self.result, self.in_force, self.key = page, result, in_force, key
        self.position, self.entry, self.latest, self.page_latest = (position, entry, latest,
                                                                    page_latest)
        self.evidence, self.left, self.pages_left = evidence, left, pages_left
        self.on_page, self.saved = on_page, saved
        self.item = next((i for i in result.items if i.key == key), None)
        self.now = next((i for i in in_force.items if i.key == key), None)

    def can_accept(self) -> bool:
        if self.item is None:
            return bool(self.result.items) and review.page_level_review(self.result)
        now = self.now or self.item
        return now.score is not None or now.status == "missing"

    def render(self, base: str) -> str:
        e = html.escape
        page = self.page
        head = (f'<header><b>srsform review</b><span>{self.left} decision(s) waiting on '
                f'{self.pages_left} page(s)</span><span id="who-shown"></span></header>')
        saved = ""
        if self.saved is not None:
            c = self.saved
            saved = (f'<p class="saved">Saved #{c.id}: {e(_what(c.item_key))} '
                     f'{e(review.format_score(c.old_score, c.old_status))} &rarr; '
                     f'{e(review.format_score(c.new_score, c.new_status))} '
                     f'({e(c.who)}: {e(c.why)})</p>')
        ident = [f"<b>{e(page.ref)}</b>"]
        if page.serial:
            ident.append(f"serial {e(page.serial)}")
        if self.result.client:
            ident.append(f"client {e(self.result.client)} session {self.result.session}")
        if self.result.template:
            ident.append(f"form {e(self.result.template)}")
        ident.append(f"page status {e(self.in_force.status)}")
        main = [saved, f'<p class="ident">{" · ".join(ident)}</p>', self._state()]
        main.append(self._item(base) if self.item is not None else self._page_itself())
        main.append(self._reasons())
        main.append(self._keys())
        main.append(_REASON_FORM)
        figure = ""
        if page.evidence_path:
            figure = (f'<div id="pagebox" class="pagebox"><img id="pageimg" '
                      f'src="{base}/evidence/{page.page_id}" alt="the whole page as scanned, '
                      'annotated"></div><p class="small">The whole page, as scanned: + and - '
                      'zoom (or click it).</p>')
        else:
            figure = '<p class="small">No image of this page was kept.</p>'
        return (f'{head}<div class="cols"><section class="main">{"".join(main)}</section>'
                f'<section class="side">{figure}</section></div>{_WHO_BOX}')

    def _state(self) -> str:
        e = html.escape
        if self.entry is not None:
            more = len(self.on_page)
            also = f" (and {more} more on this page)" if more else ""
            return f'<p class="state wait">Waits for a decision{also}.</p>'
        latest = self.latest
        if latest is not None:
            return (f'<p class="state done">Decided: '
                    f'{e(review.format_score(latest.new_score, latest.new_status))} by '
                    f'{e(latest.who)} at {e(latest.at)} (#{latest.id}: {e(latest.why)}). '
                    'u undoes it; a new key decides again.</p>')
        return '<p class="state done">Nothing waits here. n goes to the next decision.</p>'

    def _item(self, base: str) -> str:
        e = html.escape
        item: ItemScore = self.item  # type: ignore[assignment]
        label = _labels(self.result.template).get(item.key, "")
        lines = len(self.result.items)
        parts = [f'<h1>{e(item.key)} <small>line {self.position} of {lines}'
                 f'{" · " + e(label) if label else ""}</small></h1>']
        parts.append(f'<p class="suggest">{self._suggestion(item)}</p>')
        parts.append(self._crop(base))
        parts.append(_MM_FORM.format(mm="" if item.mm is None else f"{item.mm:.1f}"))
        return "".join(parts)

    def _suggestion(self, item: ItemScore) -> str:
        if item.status == "missing":
            return "Suggested: <b>blank</b> (no mark found on the line). Enter confirms."
        if item.score is None:
            return ("No suggestion: the reader found more than one mark. Type the score the "
                    "client meant, or m for blank.")
        mm = f" ({item.mm:.1f} mm)" if item.mm is not None else ""
        return (f"Suggested: <b>{review.format_score(item.score)}</b>{mm}, read as "
                f"{html.escape(item.status)}, confidence {item.confidence:.2f}. Enter confirms.")

    def _crop(self, base: str) -> str:
        ev = self.evidence
        if ev is None or not ev.crop_path:
            return '<p class="small">No line crop was kept (scanned with --no-evidence).</p>'
        url = f"{self.page.page_id}/{html.escape(ev.key)}"
        svg = []
        h = CROP_HEIGHT_MM
        if None not in (ev.crop_x_mm, ev.left_end_mm, ev.right_end_mm):
            left = ev.left_end_mm - ev.crop_x_mm  # type: ignore[operator]
            right = ev.right_end_mm - ev.crop_x_mm  # type: ignore[operator]
            for x in (left, right):
                svg.append(f'<line class="end" x1="{x:.2f}" y1="0" x2="{x:.2f}" y2="{h}"/>')
            for tick in range(101):
                x = left + (right - left) * tick / 100
                size = 3 if tick % 10 == 0 else 2 if tick % 5 == 0 else 1.2
                svg.append(f'<line class="tick" x1="{x:.2f}" y1="{h}" x2="{x:.2f}" '
                           f'y2="{h + size}"/>')
                if tick % 10 == 0:
                    svg.append(f'<text x="{x:.2f}" y="{h + 6.2}" text-anchor="middle">'
                               f'{tick // 10}</text>')
            if ev.mark_x_mm is not None:
                x = ev.mark_x_mm - ev.crop_x_mm  # type: ignore[operator]
                reading = (f"{ev.mm:.1f} mm = {review.format_score(ev.score)}"
                           if ev.mm is not None else "")
                svg.append(f'<line class="mark {html.escape(ev.status)}" x1="{x:.2f}" y1="-2" '
                           f'x2="{x:.2f}" y2="{h + 3}"/>')
                anchor = "start" if x < left + 12 else "end" if x > right - 12 else "middle"
                svg.append(f'<text class="reading" x="{x:.2f}" y="-3" '
                           f'text-anchor="{anchor}">{reading}</text>')
        return (f'<div class="cropwrap"><div id="crop" class="crop">'
                f'<img src="{base}/crop/{url}" alt="the line as scanned" '
                f'style="height:{h}mm">'
                f'<svg class="over" width="1mm" height="1mm" viewBox="0 0 1 1">{"".join(svg)}'
                '</svg></div></div><p class="small">The line at true scale (z: three times '
                'larger), with the ruler laid from its detected ends and the mark read.</p>')

    def _page_itself(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(i.key)}</td><td>{'' if i.mm is None else f'{i.mm:.1f}'}</td>"
            f"<td>{e(review.format_score(i.score))}</td><td>{e(i.status)}</td></tr>"
            for i in self.in_force.items)
        table = (f'<table><tr><th>item</th><th>mm</th><th>score</th><th>status</th></tr>{rows}'
                 '</table>') if rows else "<p>No items were read on this page.</p>"
        ask = ("Is this a form of its own, as read? a keeps it; x x sets it aside as not a "
               "form (another document, or the same sheet scanned twice)."
               if self.result.items else
               "No items could be read: x x marks it not a form; else scan it again.")
        return f"<h1>The page itself</h1><p class=\"suggest\">{ask}</p>{table}"

    def _reasons(self) -> str:
        reasons = review.reasons_for(self.result, self.key)
        if not reasons:
            return ""
        items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
        return f'<h2>Why a person is asked</h2><ul class="reasons">{items}</ul>'

    def _keys(self) -> str:
        if self.item is None:
            keys = [("a", "accept the page as read") if self.result.items else None,
                    ("x x", "not a form (the whole page)"), ("n", "next"),
                    ("u", "undo the last decision here") if self.latest else None]
        else:
            keys = [("Enter", "confirm the suggestion"),
                    ("0-9", "score (1 then 0: 10; 1 then Enter: 1)"),
                    ("m", "blank: no mark"), ("r", "set in mm (type, then Enter)"),
                    ("n", "next"), ("x x", "not a form (whole page)"),
                    ("z", "zoom the line"), ("+ -", "zoom the page"),
                    ("w", "a reason for the next decision"),
                    ("u", "undo the last decision here") if self.latest else None]
        cells = "".join(f"<li><kbd>{html.escape(k)}</kbd> {html.escape(v)}</li>"
                        for k, v in filter(None, keys))
        return (f'<ul class="keys">{cells}</ul><p id="hint" class="hint" role="status"></p>'
                '<p id="status" role="alert"></p>')


def _what(key: str) -> str:
    return "the page" if key == review.PAGE_KEY else key


# --- the page's HTML, CSS and JavaScript (no external assets) -----------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · srsform review</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{style}</style></head>
<body>{body}
<script type="application/json" id="data">{data}</script>
<script nonce="{nonce}">{script}</script>
</body></html>
"""

_DONE = """<header><b>srsform review</b></header><section class="main">
<h1>Nothing waits for a person</h1><p>Every flagged item of the store {store} has a decision
({decisions} in the corrections trail). Export the scores with <code>srsform export</code>.</p>
</section>"""

_WHO_BOX = """<div id="who-box" class="who" hidden><form id="who-form">
<p><label for="who-input">Your name, kept with each decision you make here:</label></p>
<p><input id="who-input" autocomplete="name" required> <button>Start</button></p>
</form></div>"""

_MM_FORM = """<form id="mm-form" class="mm"><label>or set where the mark is, in mm from the
line's left end (r): <input id="mm-input" inputmode="decimal" size="6" value="{mm}"
aria-describedby="mm-note"></label>
<span id="mm-note" class="small">0-100, one decimal; scored by the form's rounding rule.
Enter sets it, Esc leaves it.</span></form>"""

_REASON_FORM = """<details id="reasons-box"><summary>Reasons kept with each key (editable)</summary>
<p><label>one-off reason for the next decision (w): <input id="why-once" size="40"></label></p>
<p><label>confirm: <input data-reason="accept" size="40"></label></p>
<p><label>score: <input data-reason="score" size="40"></label></p>
<p><label>set in mm: <input data-reason="mm" size="40"></label></p>
<p><label>blank: <input data-reason="missing" size="40"></label></p>
<p><label>not a form: <input data-reason="not_a_form" size="40"></label></p>
<p><label>accept a page: <input data-reason="accept_page" size="40"></label></p>
</details>"""

_STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }
header { display: flex; gap: 2em; padding: .5em 1em; background: #24364b; color: #fff; }
.cols { display: flex; gap: 1.5em; padding: 0 1em; align-items: flex-start; }
.main { flex: 1 1 36em; min-width: 30em; } .side { flex: 1 1 30em; }
h1 { font-size: 1.4em; margin: .6em 0 .2em; } h1 small { font-weight: normal; color: #555; }
h2 { font-size: 1em; margin: 1em 0 .2em; }
.ident { margin: .6em 0 0; color: #333; }
.state { padding: .3em .6em; border-radius: 4px; display: inline-block; }
.wait { background: #fff3cd; } .done { background: #d9f2dd; }
.saved { background: #e3ecfa; padding: .3em .6em; border-radius: 4px; }
.suggest { font-size: 1.1em; }
.mm { margin: 0 0 .6em; } .mm input { font: inherit; width: 5em; }
.cropwrap { overflow-x: auto; padding: 6mm 0 8mm; }
.crop { position: relative; display: inline-block; line-height: 0; }
.crop.big { zoom: 3; }
.crop img { display: block; border: 1px solid #aaa; }
.over { position: absolute; left: 0; top: 0; overflow: visible; pointer-events: none; }
.over line { stroke-width: .25; } .over .end { stroke: #e07800; }
.over .tick { stroke: #333; stroke-width: .15; }
.over text { font-size: 3px; fill: #333; }
.over .mark { stroke-width: .5; stroke: #1c8c1c; } .over .uncertain { stroke: #e08c00; }
.over .reading { fill: #000; font-weight: bold; }
.reasons li { margin: .2em 0; }
.keys { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3em 1.2em; }
kbd { border: 1px solid #999; border-bottom-width: 2px; border-radius: 3px; padding: 0 .35em;
  background: #fff; font: 13px ui-monospace, monospace; }
.hint { min-height: 1.4em; color: #24364b; font-weight: bold; }
#status { min-height: 1.4em; } #status.bad { color: #b00020; font-weight: bold; }
.pagebox { overflow: auto; max-height: 88vh; border: 1px solid #aaa; background: #fff; }
.pagebox img { width: 100%; display: block; cursor: zoom-in; }
.small { color: #555; font-size: .9em; }
table { border-collapse: collapse; } td, th { padding: .15em .8em; text-align: left; }
.who { position: fixed; inset: 0; background: rgba(0,0,0,.45); display: flex;
  align-items: center; justify-content: center; }
.who[hidden] { display: none; }
.who form { background: #fff; padding: 1.2em 1.6em; border-radius: 6px; }
"""

_SCRIPT = r"""
(() => {
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
let busy = false, prefix = "", zoom = 1;

function reasons() {
  let mine = {};
  try { mine = JSON.parse(localStorage.getItem("srsform.reasons") || "{}"); } catch (e) {}
  return Object.assign({}, D.reasons, mine);
}
function reviewer() { return sessionStorage.getItem("srsform.who") || ""; }
function hint(text) { const h = $("hint"); if (h) h.textContent = text; }
function say(text, bad) {
  const s = $("status"); if (!s) return;
  s.textContent = text; s.className = bad ? "bad" : "";
}
function askName() {
  const box = $("who-box"), input = $("who-input");
  input.value = localStorage.getItem("srsform.last-who") || D.who_default || "";
  box.hidden = false; input.focus(); input.select();
}
function showName() {
  const shown = $("who-shown");
  if (shown) shown.textContent = reviewer() ? "reviewer: " + reviewer() : "";
}
$("who-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const name = $("who-input").value.trim();
  if (!name) return;
  sessionStorage.setItem("srsform.who", name);
  localStorage.setItem("srsform.last-who", name);
  $("who-box").hidden = true; $("who-input").blur(); showName();
});
for (const input of document.querySelectorAll("[data-reason]")) {
  input.value = reasons()[input.dataset.reason];
  input.addEventListener("change", () => {
    const mine = reasons(); mine[input.dataset.reason] = input.value.trim();
    localStorage.setItem("srsform.reasons", JSON.stringify(mine));
  });
}

async function post(url, body) {
  busy = true; say("saving…");
  try {
    const r = await fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": D.csrf},
      body: JSON.stringify(body)});
    let answer = {};
    try { answer = await r.json(); } catch (e) {}
    if (r.ok) { location.assign(answer.next); return; }
    say((answer.error || "refused (" + r.status + ")") +
        (r.status === 409 ? " — press n for the next one, or reload to see it" : ""), true);
  } catch (e) {
    say("srsform did not answer: is `srsform review web` still running?", true);
  }
  busy = false;
}
function decide(action, score) {
  if (!reviewer()) { askName(); return; }
  const once = $("why-once") ? $("why-once").value.trim() : "";
  const kind = action === "accept" && D.is_page ? "accept_page" : action;
  const page = action === "not_a_form";
  post(D.urls.decide, {page_id: D.page_id, key: page ? D.page_key : D.key, action: action,
    score: action === "mm" ? undefined : score, mm: action === "mm" ? score : undefined,
    who: reviewer(), why: once || reasons()[kind], seen: page ? D.page_seen : D.seen});
}
const mmForm = $("mm-form");
if (mmForm) mmForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("mm-input"), text = input.value.trim().replace(",", ".");
  if (!/^[0-9]{1,3}(\.[0-9])?$/.test(text) || Number(text) > 100) {
    say("a position on the line is 0-100 mm, to one decimal (e.g. 44.5)", true);
    input.select(); return;
  }
  input.blur();
  if (!busy) decide("mm", text);
});
function undo() {
  if (!D.undo_id) { hint("nothing to undo here"); return; }
  if (!reviewer()) { askName(); return; }
  const once = $("why-once") ? $("why-once").value.trim() : "";
  post(D.urls.undo, {correction_id: D.undo_id, who: reviewer(),
    why: once || "undone in the review page"});
}
function zoomPage(step) {
  const img = $("pageimg"); if (!img) return;
  zoom = Math.min(4, Math.max(1, zoom + step));
  img.style.width = (zoom * 100) + "%";
}
const img = $("pageimg");
if (img) img.addEventListener("click", () => zoomPage(zoom >= 4 ? -3 : 1));

document.addEventListener("keydown", (ev) => {
  const t = ev.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA")) {
    if (ev.key === "Escape" || (ev.key === "Enter" && t.id !== "who-input" && !t.form)) {
      ev.preventDefault(); t.blur();
    }
    return;
  }
  if (ev.ctrlKey || ev.metaKey || ev.altKey || busy || !$("who-box").hidden) return;
  const k = ev.key;
  if (prefix) {
    const was = prefix; prefix = ""; hint(""); ev.preventDefault();
    if (was === "1" && k === "0") decide("score", 10);
    else if (was === "1" && k === "Enter") decide("score", 1);
    else if (was === "x" && (k === "x" || k === "X")) decide("not_a_form");
    else hint("cancelled");
    return;
  }
  if (!D.is_page && /^[0-9]$/.test(k)) {
    ev.preventDefault();
    if (D.tenths) {
      const value = prompt("Score 0-10 in tenths (e.g. 7.5):", k);
      if (value !== null && value.trim() !== "") decide("score", value.trim());
    } else if (k === "1") { prefix = "1"; hint("1… then 0 for 10, Enter for 1 (Esc cancels)"); }
    else decide("score", Number(k));
    return;
  }
  switch (k) {
    case "Enter": case "a":
      ev.preventDefault();
      if (D.can_accept) decide("accept");
      else hint(D.is_page ? "nothing to accept: x x marks the page not a form"
                          : "no reading to confirm: type the score, or m for blank");
      break;
    case "m": if (!D.is_page) { ev.preventDefault(); decide("missing"); } break;
    case "r": {
      const input = $("mm-input");
      if (input) { ev.preventDefault(); input.focus(); input.select(); }
      break;
    }
    case "n": ev.preventDefault(); location.assign(D.urls.next); break;
    case "x": case "X":
      ev.preventDefault(); prefix = "x";
      hint("x again marks the whole page not a form (Esc cancels)"); break;
    case "u": ev.preventDefault(); undo(); break;
    case "z": { const c = $("crop"); if (c) c.classList.toggle("big"); break; }
    case "+": case "=": zoomPage(1); break;
    case "-": zoomPage(-1); break;
    case "w": {
      ev.preventDefault(); const box = $("reasons-box");
      if (box) { box.open = true; $("why-once").focus(); }
      break;
    }
    default: break;
  }
});
showName();
if (!reviewer()) askName();
})();
"""
