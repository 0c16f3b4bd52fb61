"""Serve the demo sites over loopback HTTP, one ThreadingHTTPServer (own port) per site.

Each site gets its own host:port so it has its own robots.txt, as two real sites
would. Pages are rendered once per clock date and cached, so a full crawl is cheap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from scrapers.demo_site.catalog import SITES, Catalog, SiteCatalog, Trouble, title_path
from scrapers.demo_site.render import RENDERERS, Page

SLOW_PAGE_SECONDS = 1.5


@dataclass(frozen=True)
class RequestRecord:
    """One request the demo server answered (for tests: robots obeyed, retries seen)."""

    site: str
    method: str
    path: str
    status: int
    user_agent: str


class DemoSite:
    """One site's state: clock, page cache, one-shot 500s, slow pages and request log."""

    def __init__(self, catalog: SiteCatalog, as_of: date, log: list[RequestRecord]) -> None:
        self.catalog = catalog
        self.renderer = RENDERERS[catalog.name](catalog)
        self.as_of = as_of
        self.base_url = ""
        self.log = log
        self._cache: dict[str, Page] = {}
        self._lock = threading.Lock()
        self._failed_once: set[str] = set()
        self._transient = {
            title_path(catalog.name, lst.site_id)
            for lst in catalog.listings
            if "transient_500" in lst.troubles
        }
        self._slow = {
            title_path(catalog.name, lst.site_id)
            for lst in catalog.listings
            if "slow" in lst.troubles
        }

    def set_as_of(self, as_of: date) -> None:
        with self._lock:
            self.as_of = as_of
            self._cache.clear()

    def respond(self, path: str) -> Page:
        route = urlsplit(path).path
        if route in self._transient:
            with self._lock:
                first = route not in self._failed_once
                self._failed_once.add(route)
            if first:
                return Page(500, "<html><body><h1>Internal Server Error</h1></body></html>")
        if route in self._slow:
            time.sleep(SLOW_PAGE_SECONDS)
        page = self._cache.get(path)
        if page is None:
            page = self.renderer.render(path, self.as_of, self.base_url)
            with self._lock:
                self._cache[path] = page
        return page


def _handler_for(site: DemoSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 keep-alive: a crawler reuses its connections instead of a handshake a page.
        protocol_version = "HTTP/1.1"
        server_version = f"DemoSite/{site.catalog.name}"

        def _serve(self, with_body: bool) -> None:
            page = site.respond(self.path)
            body = page.encoded()
            # Logged before the response goes out: a client that has its answer finds the
            # request in the log (logging after the write raced with fast clients).
            site.log.append(
                RequestRecord(
                    site.catalog.name,
                    self.command,
                    self.path,
                    page.status,
                    self.headers.get("User-Agent", ""),
                )
            )
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type_header())
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(with_body=False)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the request log is kept in memory instead."""

    return Handler


class DemoSites:
    """Running demo sites: ``urls`` maps site name to base URL; ``log`` records requests."""

    def __init__(self, catalog: Catalog, as_of: date, ports: dict[str, int] | None = None) -> None:
        self.catalog = catalog
        self.log: list[RequestRecord] = []
        self.sites = {name: DemoSite(catalog.sites[name], as_of, self.log) for name in SITES}
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self._ports = ports or {}

    @property
    def urls(self) -> dict[str, str]:
        return {name: site.base_url for name, site in self.sites.items()}

    @property
    def as_of(self) -> date:
        return next(iter(self.sites.values())).as_of

    def set_as_of(self, as_of: date) -> None:
        """Move every site's clock (pages are re-rendered for the new date)."""
        for site in self.sites.values():
            site.set_as_of(as_of)

    def troubles(self) -> list[Trouble]:
        """The trouble manifest for what the sites show now."""
        return self.catalog.troubles(self.as_of)

    def requests_for(self, site: str) -> list[RequestRecord]:
        return [r for r in list(self.log) if r.site == site]

    def start(self) -> DemoSites:
        for name, site in self.sites.items():
            server = ThreadingHTTPServer(
                ("127.0.0.1", self._ports.get(name, 0)), _handler_for(site)
            )
            server.daemon_threads = True
            site.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
            thread = threading.Thread(target=server.serve_forever, name=f"demo-{name}", daemon=True)
            thread.start()
            self._servers[name] = server
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()


@contextmanager
def serve_demo_sites(
    catalog: Catalog, as_of: date, ports: dict[str, int] | None = None
) -> Iterator[DemoSites]:
    """Serve both demo sites on 127.0.0.1 for the duration of the block (port 0 = any free)."""
    sites = DemoSites(catalog, as_of, ports).start()
    try:
        yield sites
    finally:
        sites.stop()
