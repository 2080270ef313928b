"""Check a published asv report in headless Chromium: every benchmark's graph must show data.

    asv publish && python benchmarks/asv_report.py .asv/html

asv's report is a web page: its JavaScript (jQuery and flot, which asv loads
from CDNs) fetches ``graphs/summary/<benchmark>.json`` and draws one summary
graph per benchmark. A report can be written without error and still show
nothing (results that were never saved, results of commits outside the
configured ``branches``, benchmarks that failed for every parameter), so this
opens it the way a user does, in a browser, and asks each drawn graph how
many finite points it holds.

The page is served over HTTP from a copy whose CDN scripts are replaced by
Debian's packages of the same libraries (``chromium``, ``libjs-jquery``,
``libjs-jquery-flot``, ``libjs-bootstrap``, ``node-blueimp-md5``,
``libjs-jquery-stupidtable``; ``.ci/run`` installs them), so the check needs
no network. Debian's flot bundle already holds the time, selection and
categories plugins; flot-orderbars, which only places bars side by side on a
benchmark's own page, has no Debian package and is left out.

Exit status 0 when every benchmark's graph has data, 1 (naming those that do
not) otherwise, 2 when Chromium or a library is missing (the reason is printed).
"""

import argparse
import contextlib
import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

#: CDN scripts and styles of asv's index.html, by the end of their URL, to the
#: Debian file that replaces them (None: the Debian flot bundle already holds it,
#: or it has no package and the summary graphs do not use it).
LOCAL_COPIES = {
    "jquery-3.3.1.min.js": "/usr/share/javascript/jquery/jquery.min.js",
    "flot/0.8.3/jquery.flot.min.js": "/usr/share/javascript/jquery-flot/jquery.flot.min.js",
    "jquery.flot.time.min.js": None,
    "jquery.flot.selection.min.js": None,
    "jquery.flot.categories.min.js": None,
    "jquery.flot.orderBars.js": None,
    "stupidtable.min.js": "/usr/share/javascript/jquery-stupidtable/stupidtable.min.js",
    "md5.min.js": "/usr/share/javascript/blueimp-md5/md5.min.js",
    "bootstrap.min.js": "/usr/share/javascript/bootstrap/js/bootstrap.min.js",
    "bootstrap.min.css": "/usr/share/javascript/bootstrap/css/bootstrap.min.css",
}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: Milliseconds of page time the browser runs for: load, scroll every graph into view, draw.
PAGE_TIME_MS = 20_000

#: Run in the page once it has loaded: bring every summary graph into view (asv
#: loads each when it is scrolled to), then count the finite points flot holds
#: for each and write {benchmark: points, or -1 when nothing was drawn} into the DOM.
CHECK_SCRIPT = """
<script>
window.addEventListener('load', function () {
  var height = Math.max(document.body.scrollHeight, 1);
  for (var y = 0; y <= height; y += 200) { window.scrollTo(0, y); $(window).trigger('scroll'); }
  setTimeout(function () {
    var found = {};
    $('.benchmark-plot').each(function () {
      var plot = $(this).data('plot'), points = -1;
      if (plot) {
        points = 0;
        plot.getData().forEach(function (series) {
          series.data.forEach(function (p) { if (p && p[1] !== null && isFinite(p[1])) { points += 1; } });
        });
      }
      found[this.id.replace(/^summarygrid-/, '')] = points;
    });
    var out = document.createElement('pre');
    out.id = 'fastlr-report-check';
    out.textContent = JSON.stringify(found);
    document.body.appendChild(out);
  }, 5000);
});
</script>
"""


class Unavailable(RuntimeError):
    """Chromium or one of the libraries the page needs is not installed."""


def browser():
    """The path of a Chromium executable, or :class:`Unavailable`."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path is not None:
            return path
    raise Unavailable(f"no Chromium ({', '.join(BROWSERS)}) on PATH: apt-get install chromium")


#: asv's CDN tags: scripts, and the one style sheet.
CDN_TAGS = {
    "script": r'<script[^>]*\bsrc="(https?://[^"]+)"[^>]*>\s*</script>',
    "style": r'<link[^>]*\bhref="(https?://[^"]+)"[^>]*>',
}


def _local_tag(kind, url, library):
    """The tag that loads Debian's copy of ``url`` from ``library`` (copied there), or ""."""
    ending = next((end for end in LOCAL_COPIES if url.endswith(end)), None)
    if ending is None:
        raise Unavailable(f"asv's page loads {url}, which this check has no local copy of")
    source = LOCAL_COPIES[ending]
    if source is None:
        return ""
    if not Path(source).exists():
        raise Unavailable(f"{source} is missing: apt-get install the Debian package that provides it")
    shutil.copy(source, library / Path(source).name)
    local = f"{library.name}/{Path(source).name}"
    return f'<link rel="stylesheet" href="{local}">' if kind == "style" else f'<script src="{local}"></script>'


def _local_page(html_dir, copy_dir):
    """A copy of ``html_dir`` whose index.html loads Debian's libraries and runs :data:`CHECK_SCRIPT`."""
    shutil.copytree(html_dir, copy_dir)
    index = Path(copy_dir) / "index.html"
    page = index.read_text(encoding="utf-8")
    library = Path(copy_dir) / "_lib"
    library.mkdir()
    for kind, pattern in CDN_TAGS.items():
        page = re.sub(pattern, lambda match, kind=kind: _local_tag(kind, match.group(1), library), page)
    index.write_text(page.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")


@contextlib.contextmanager
def _served(directory):
    """``directory`` over HTTP on a free local port; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def points_per_graph(html_dir, timeout=120):
    """{benchmark name: finite points in its summary graph, or -1 when none was drawn},
    as headless Chromium renders the report in ``html_dir``."""
    if not (Path(html_dir) / "index.html").exists():
        raise FileNotFoundError(f"{html_dir}/index.html: run asv publish first")
    executable = browser()
    with tempfile.TemporaryDirectory(prefix="fastlr-asv-report-") as scratch:
        page = Path(scratch) / "html"
        _local_page(html_dir, page)
        with _served(page) as url:
            command = [
                executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                f"--user-data-dir={Path(scratch) / 'profile'}", "--window-size=1280,2000",
                f"--virtual-time-budget={PAGE_TIME_MS}", "--dump-dom", url + "index.html",
            ]
            dom = subprocess.run(command, capture_output=True, text=True, timeout=timeout).stdout
    found = re.search(r'<pre id="fastlr-report-check">(.*?)</pre>', dom, flags=re.S)
    if found is None:
        error = re.search(r"<h1>(.*?)</h1>", dom, flags=re.S)
        raise RuntimeError(f"the report did not render: {' '.join((error.group(1) if error else dom[:300]).split())}")
    return json.loads(found.group(1).replace("&quot;", '"'))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/asv_report.py", description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", nargs="?", default=".asv/html", help="asv's html_dir (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        points = points_per_graph(args.html_dir)
    except Unavailable as exc:
        print(f"cannot check the report: {exc}", file=sys.stderr)
        return 2
    empty = sorted(name for name, count in points.items() if count <= 0)
    for name, count in sorted(points.items()):
        print(f"{count:>6}  {name}")
    if not points:
        print("the report shows no benchmarks at all", file=sys.stderr)
        return 1
    if empty:
        print(f"{len(empty)} of {len(points)} benchmark graphs have no data: {', '.join(empty)}", file=sys.stderr)
        return 1
    print(f"every one of the {len(points)} benchmark graphs has data")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
