"""The Starlette application: routes, sign-in, CSRF, errors as pages, pages as HTML or CSV.

Every page and its `.csv` are built by the same function in `pages.py` for the same actor, so a
download can never hold more than its page. Errors are plain pages that say what happened in
general terms: never a traceback, never a figure.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
import secrets
import threading
import time
from collections import deque
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from perf_pipeline.app import framework_pages, pages
from perf_pipeline.app.accounts import MAX_PASSWORD, Accounts
from perf_pipeline.app.governance import GovernancePages
from perf_pipeline.app.permissions import PUBLIC, Actor, Approvals
from perf_pipeline.app.snapshot import NoSnapshot, SnapshotReader
from perf_pipeline.lib.app_snapshot import SNAPSHOT_FOLDER, snapshot_path
from perf_pipeline.lib.formatting import RAG_COLOURS
from perf_pipeline.lib.publish import neutralise_frame
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.report_render import environment

log = logging.getLogger("perf_pipeline.app")
SECRET_FILE = "session-secret"
SECRET_ENV = "PERF_PIPELINE_APP_SECRET"
MAX_QUERY = 1024
MAX_PATH = 512
SESSION_SECONDS = 8 * 3600
PAGES_KEPT = 512  # per snapshot
LOGIN_FAILURES, LOGIN_WINDOW = 5, 15 * 60
THROTTLE_KEYS = 10_000
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class Settings:
    data_root: Path
    public: bool = False
    trusted_header: str | None = None  # single sign-on: the proxy's header naming the account
    secure_cookies: bool = False  # behind HTTPS: cookies only over HTTPS


def session_secret(folder: Path) -> str:
    """The key that signs session cookies: `PERF_PIPELINE_APP_SECRET`, else a file made on first start."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = folder / SECRET_FILE
    folder.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


class LoginThrottle:
    """At most `LOGIN_FAILURES` failed sign-ins per account name and per address in `LOGIN_WINDOW`."""

    def __init__(self):
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> int:
        """Failures of `key` still in the window (forgetting the older ones, and the key with them)."""
        times = self._failures.get(key)
        while times and times[0] < now - LOGIN_WINDOW:
            times.popleft()
        if times is not None and not times:
            del self._failures[key]
        return len(times or ())

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(self._recent(k, now) >= LOGIN_FAILURES for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > THROTTLE_KEYS:  # many names tried once: forget the stale ones
                for key in list(self._failures):
                    self._recent(key, now)


class Guard:
    """Refuses oversized or malformed requests before any routing, and adds the security headers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if len(scope.get("query_string", b"")) > MAX_QUERY or len(scope.get("raw_path") or b"") > MAX_PATH:
            response = HTMLResponse(_plain_page(400, "The address is too long."), status_code=400)
            return await response(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [
                    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _plain_page(status: int, message: str) -> str:
    """The page for an error, written without templates or data so it cannot fail or leak."""
    titles = {
        400: "Bad request",
        403: "Forbidden",
        404: "Page not found",
        405: "Not allowed",
        429: "Too many attempts",
    }
    title = titles.get(status, "Something went wrong")
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{title}</title></head><body>'
        f'<main id="main"><h1>{title}</h1><p>{message}</p><p><a href="/">Go to the start page</a></p></main>'
        "</body></html>"
    )


def create_app(settings: Settings) -> Starlette:
    folder = settings.data_root / SNAPSHOT_FOLDER
    reader = SnapshotReader(snapshot_path(settings.data_root))
    approvals = Approvals(settings.data_root)
    accounts = Accounts(folder)
    throttle = LoginThrottle()
    env = environment()
    env.auto_reload = False  # the templates do not change while the app runs: no stat per page
    env.globals.update(
        rag_colours=RAG_COLOURS, quarter_label=lambda q: Quarter.parse(q).label, slug=pages.slug
    )

    def actor_of(request: Request) -> Actor | None:
        if settings.trusted_header:
            account = accounts.active(request.headers.get(settings.trusted_header))
        else:
            account = accounts.active(request.session.get("account"))
        if account is not None:
            return account.actor()
        return PUBLIC if settings.public else None

    def csrf_token(request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = secrets.token_urlsafe(32)
        return request.session["csrf"]

    # Who is signed in is the one part of a page that differs between people who see the same
    # page: the rest is rendered once, around this mark, which no text can hold (it is random).
    account_mark = f"<!--account {secrets.token_hex(16)}-->"

    def around_account(template: str, view: dict) -> tuple[bytes, bytes]:
        """The page `template` shows of `view`, before and after its account line, encoded."""
        html = env.get_template(template).render(account=Markup(account_mark), **view)
        before, _, after = html.partition(account_mark)
        return before.encode(), after.encode()

    @functools.lru_cache(maxsize=1024)
    def account_line(actor, csrf: str, quarter: str | None) -> bytes:
        """The account line for what it shows (the committee link names the page's quarter): the
        same few for every request of a session, so rendered once each."""
        return (
            env.get_template("app/account.html.j2")
            .render(actor=actor, csrf_token=csrf, sso=bool(settings.trusted_header), quarter=quarter)
            .encode()
        )

    def with_account(
        request: Request, parts: tuple[bytes, bytes], actor, page=None, status: int = 200
    ) -> HTMLResponse:
        account = account_line(actor, csrf_token(request), page.quarter if page is not None else None)
        return HTMLResponse(parts[0] + account + parts[1], status_code=status)

    def render(request: Request, template: str, status: int = 200, **view) -> HTMLResponse:
        actor = view.pop("actor", None)
        parts = around_account(
            template,
            {
                "actor": actor,
                "csrf_token": csrf_token(request),
                "sso": bool(settings.trusted_header),
                "path": request.url.path,
                **view,
            },
        )
        return with_account(request, parts, actor, view.get("page"), status)

    def csv_of(page: pages.Page) -> tuple[bytes, str]:
        """The page's table as CSV (text neutralised as in the reports), encoded, and the file's name."""
        name = page.csv_name + ("-DRAFT" if page.draft else "")
        return neutralise_frame(page.table).to_csv(index=False, lineterminator="\r\n").encode(), name

    def made(build, request: Request, actor, as_csv: bool):
        """A page (or its CSV) as made from the snapshot in place: built and rendered from one
        connection, so from one snapshot, all but the account line."""
        with closing(reader.connect()) as con:
            ctx = pages.Ctx(con, reader.published(con), actor, approvals)
            page = build(ctx, request)
            if as_csv:
                return csv_of(page)
            # Only what the key below names: neither the account nor the session's CSRF token.
            view = {
                "page": page,
                "quarters": ctx.quarters(),
                "council": ctx.published.meta["council"],
                "published_at": ctx.published.meta["published_at"],
                "path": request.url.path,
                **page.view,
            }
            return page, around_account(page.template, view)

    def page_endpoint(build, as_csv: bool = False):
        async def endpoint(request: Request):
            # On the event loop: a page already made is served with a look at three files (the
            # accounts, the snapshot, the approvals) and lookups in memory; only opening a new
            # snapshot or making a page is handed to a worker thread.
            actor = actor_of(request)
            if actor is None and settings.trusted_header:
                raise HTTPException(403)
            if actor is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
            # What a page shows depends only on these (see permissions.may_see), so it is made
            # once per snapshot for everyone who shares them, and then served without opening it.
            scope = request.scope
            key = (scope["path"], scope["query_string"], actor.role, actor.portfolio, approvals.version())
            kind = "csv" if as_csv else "pages"
            published = reader.loaded()
            kept = published.kept(kind, key) if published is not None else None
            if kept is None:  # opening the snapshot and making the page: in a worker thread
                kept = await run_in_threadpool(
                    lambda: reader.current().remembered(
                        kind, key, lambda: made(build, request, actor, as_csv), PAGES_KEPT
                    )
                )
            if as_csv:
                text, name = kept
                return Response(
                    text,
                    media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}.csv"'},
                )
            page, parts = kept
            return with_account(request, parts, actor, page)

        return endpoint

    def both(path: str, build) -> list[Route]:
        """A page and its table as CSV at the same address with `.csv` appended."""
        return [Route(path, page_endpoint(build)), Route(path + ".csv", page_endpoint(build, True))]

    def csv_by_suffix(build, param: str):
        """For addresses ending in a name (`/indicators/RB01`): `RB01.csv` is the page's table."""

        async def endpoint(request: Request):
            wants_csv = request.path_params[param].endswith(".csv")
            if wants_csv:
                request.path_params[param] = request.path_params[param].removesuffix(".csv")
            return await page_endpoint(build, wants_csv)(request)

        return endpoint

    def home(request: Request):
        actor = actor_of(request)
        if actor is None and settings.trusted_header:
            raise HTTPException(403)
        if actor is None:
            return RedirectResponse("/login", status_code=303)
        with closing(reader.connect()) as con:
            ctx = pages.Ctx(con, reader.published(con), actor, approvals)
            latest = pages.home(ctx)
            if latest is None:
                return render(
                    request, "app/empty.html.j2", actor=actor, council=ctx.published.meta["council"]
                )
        return RedirectResponse(f"/q/{latest}/", status_code=303)

    async def healthz(request: Request):
        published = reader.loaded() or await run_in_threadpool(reader.current)
        return PlainTextResponse(f"ok: snapshot published {published.meta['published_at']}")

    async def login(request: Request):
        if settings.trusted_header:
            raise pages.NotFound()
        next_page = _safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return render(
                request, "app/login.html.j2", actor=actor_of(request), next_page=next_page, error=None
            )
        form = await _form(request)
        name = str(form.get("name", ""))[:64]
        password = str(form.get("password", ""))[: MAX_PASSWORD + 1]
        next_page = _safe_next(str(form.get("next", "")))
        client = request.client.host if request.client else "unknown"
        keys = (f"name:{name.lower()}", f"address:{client}")

        def refused(status: int, error: str) -> HTMLResponse:
            return render(request, "app/login.html.j2", status, actor=None, next_page=next_page, error=error)

        if throttle.blocked(*keys):
            log.warning("sign-in refused for %r from %s: too many failed attempts", name, client)
            return refused(429, "Too many failed attempts. Wait 15 minutes and try again.")
        account = await run_in_threadpool(accounts.verify, name, password)
        if account is None:
            throttle.failed(*keys)
            log.info("failed sign-in for %r from %s", name, client)
            return refused(400, "The name or password is not right.")
        request.session.clear()
        request.session.update({"account": account.name, "csrf": secrets.token_urlsafe(32)})
        log.info("%s signed in from %s", account.name, client)
        return RedirectResponse(next_page, status_code=303)

    async def logout(request: Request):
        await _form(request)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def _form(request: Request, max_part_size: int = 4096):
        """The posted form, refused unless it carries this session's CSRF token."""
        form = await request.form(max_files=0, max_fields=10, max_part_size=max_part_size)
        sent, expected = str(form.get("csrf_token", "")), request.session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise HTTPException(400, "The form has expired. Go back, reload the page and try again.")
        return form

    def indicator_page(ctx, request):
        return pages.indicator(ctx, request.path_params["quarter"], request.path_params["code"])

    def search_page(ctx, request):
        return pages.search(ctx, request.query_params.get("q", ""))

    def quarter_page(build):
        return lambda ctx, request: build(ctx, request.path_params["quarter"])

    def programme_page(ctx, request):
        return framework_pages.programme(
            ctx, request.path_params["quarter"], request.path_params["programme"]
        )

    def tags_page(ctx, request):
        q = request.query_params
        return framework_pages.tags(
            ctx, request.path_params["quarter"], q.get("vocabulary", "")[:100], q.get("value", "")[:100]
        )

    def grouping_index(ctx, request):
        return pages.grouping_index(ctx, request.path_params["quarter"], request.path_params["grouping"])

    def group_page(ctx, request):
        return pages.group(
            ctx, request.path_params["quarter"], request.path_params["grouping"], request.path_params["name"]
        )

    routes = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        *both("/search", search_page),
        *both("/q/{quarter}/", quarter_page(pages.overview)),
        Route("/q/{quarter}/indicators/{code}", csv_by_suffix(indicator_page, "code")),
        *both("/q/{quarter}/attention", quarter_page(pages.attention)),
        *both("/q/{quarter}/plan", quarter_page(pages.plan)),
        *both("/q/{quarter}/value-for-money", quarter_page(pages.value_for_money)),
        *GovernancePages(settings.data_root, reader, approvals, actor_of, render, _form).routes(),
        *both("/q/{quarter}/programmes", quarter_page(framework_pages.programmes)),
        Route("/q/{quarter}/programmes/{programme}", csv_by_suffix(programme_page, "programme")),
        *both("/q/{quarter}/risks", quarter_page(framework_pages.risks)),
        *both("/q/{quarter}/tags", tags_page),
        Route("/q/{quarter}/{grouping}/", page_endpoint(grouping_index)),
        Route("/q/{quarter}/{grouping}/{name}", csv_by_suffix(group_page, "name")),
    ]

    def not_found(request, exc):
        return HTMLResponse(
            _plain_page(404, "There is no page at this address, or it is not available to you."), 404
        )

    def http_error(request, exc: HTTPException):
        messages = {
            400: exc.detail,
            403: "Your sign-in did not reach the performance app. Ask the council's IT service desk.",
        }
        message = messages.get(exc.status_code, "This request cannot be answered.")
        return HTMLResponse(_plain_page(exc.status_code, message), exc.status_code)

    def bad_request(request, exc: pages.BadRequest):
        return HTMLResponse(_plain_page(400, str(exc)), 400)

    def no_snapshot(request, exc):
        log.error("snapshot unavailable: %s", exc)
        message = "The performance figures have not been published yet, or cannot be read. Try again later."
        return HTMLResponse(_plain_page(503, message), 503)

    def server_error(request, exc):
        log.exception("error serving %s", request.url.path)
        return HTMLResponse(_plain_page(500, "Something went wrong. The error has been logged."), 500)

    handlers = {
        404: not_found,
        pages.NotFound: not_found,
        HTTPException: http_error,
        pages.BadRequest: bad_request,
        NoSnapshot: no_snapshot,
        Exception: server_error,
    }
    middleware = [
        Middleware(Guard),
        Middleware(
            SessionMiddleware,
            secret_key=session_secret(folder),
            session_cookie="perf_session",
            max_age=SESSION_SECONDS,
            same_site="strict",
            https_only=settings.secure_cookies,
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="/")


def _safe_next(target: str | None) -> str:
    """Only an address on this site (no `//host`, no scheme) is followed after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
