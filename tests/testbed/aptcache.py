"""A small caching HTTP proxy for apt in the test containers.

Debian's apt-cacher-ng can't resolve the archive on these machines, so the test
bed runs this instead. It forwards plain-HTTP GETs only to the archive hosts
named on the command line (never an open proxy), caches `.deb` files (immutable
by name) on disk, and passes index files through uncached so apt always sees a
consistent archive.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

UPSTREAM_TIMEOUT = 60


class Handler(BaseHTTPRequestHandler):
    allowed_hosts: frozenset[str] = frozenset()
    cache_dir = "/var/cache/mailhost-aptcache"

    def log_message(self, format, *args):  # noqa: A002 - signature from BaseHTTPRequestHandler
        pass

    def do_GET(self):  # noqa: N802 - http.server naming
        url = urlsplit(self.path)
        if url.scheme != "http" or url.hostname not in self.allowed_hosts:
            self.send_error(403, "host not allowed by the mailhost test-bed cache")
            return
        cacheable = url.path.endswith(".deb")
        cached = os.path.join(self.cache_dir, hashlib.sha256(self.path.encode()).hexdigest() + ".deb")
        if cacheable and os.path.exists(cached):
            self._send_file(cached)
            return
        try:
            upstream = urllib.request.urlopen(self.path, timeout=UPSTREAM_TIMEOUT)  # noqa: S310 - http only, allow-listed
        except urllib.error.HTTPError as err:
            self.send_error(err.code, err.reason)
            return
        except (urllib.error.URLError, TimeoutError) as err:
            self.send_error(502, str(err))
            return
        with upstream:
            if not cacheable:
                self.send_response(200)
                for name in ("Content-Type", "Content-Length", "Last-Modified"):
                    if upstream.headers.get(name):
                        self.send_header(name, upstream.headers[name])
                self.end_headers()
                shutil.copyfileobj(upstream, self.wfile)
                return
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(upstream, out)
            os.replace(tmp, cached)
        self._send_file(cached)

    def _send_file(self, path):
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.debian.binary-package")
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.end_headers()
        with open(path, "rb") as src:
            shutil.copyfileobj(src, self.wfile)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3142)
    parser.add_argument("--cache-dir", default=Handler.cache_dir)
    parser.add_argument("hosts", nargs="+", help="archive host names the proxy may fetch from")
    args = parser.parse_args()
    os.makedirs(args.cache_dir, exist_ok=True)
    Handler.allowed_hosts = frozenset(args.hosts)
    Handler.cache_dir = args.cache_dir
    ThreadingHTTPServer(("0.0.0.0", args.port), Handler).serve_forever()  # noqa: S104 - containers reach it via the bridge


if __name__ == "__main__":
    main()
