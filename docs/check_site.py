"""Check the built documentation site as a reader would find it.

Run by ``make docs`` after ``sphinx-build``::

    python docs/check_site.py [docs/_build/html]

1. Every internal link and resource (``href``/``src`` to a file of the site,
   and ``#anchor`` to an id in it) of every HTML page resolves; external
   ``http(s)``/``mailto`` links are not followed.
2. The API reference mentions every name in ``sktfm.__all__``, and each class
   and function there has its own page.
3. Every gallery example that draws with matplotlib shows a figure.
4. Headless Chromium renders the index page, the gallery and a gallery page
   with figures: the screenshots (in ``docs/_build/screenshots/``) exist and
   are not blank.

Exits 1 and lists every failure, 0 when all is well.
"""

import argparse
import inspect
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DOCS = Path(__file__).resolve().parent
LINK_ATTRIBUTES = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src"}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


class Page(HTMLParser):
    """The ids (anchors), links and images of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (tag, url)
        self.images = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(name):
                self.ids.add(attrs[name])
        attribute = LINK_ATTRIBUTES.get(tag)
        if attribute and attrs.get(attribute):
            self.links.append((tag, attrs[attribute]))
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])

    def handle_data(self, data):
        self.text.append(data)


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def broken_links(site):
    """Every internal link of the site that leads nowhere, as messages."""
    # _static/ holds the theme's assets, among them Jinja templates named *.html.
    pages = {
        path: parse(path)
        for path in sorted(site.rglob("*.html"))
        if path.relative_to(site).parts[0] != "_static"
    }
    problems = []
    for path, page in pages.items():
        for tag, url in page.links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc:  # http(s), mailto, data, javascript
                continue
            if parts.path:
                target = (path.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
            else:
                target = path
            where = f"{path.relative_to(site)}: <{tag}> {url}"
            if not target.is_file():
                problems.append(f"{where}: no file {target}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{where}: no id {parts.fragment!r} in {target.name}")
    return len(pages), problems


def api_problems(site):
    """Names of ``sktfm.__all__`` the API reference misses."""
    sys.path.insert(0, str(DOCS.parent))
    import sktfm

    api = site / "api.html"
    if not api.is_file():
        return [f"no API reference page {api}"]
    page = parse(api)
    text = " ".join(page.text)
    links = {unquote(urlsplit(url).path) for _, url in page.links}
    problems = []
    for name in sktfm.__all__:
        if f"sktfm.{name}" not in text and name not in text:
            problems.append(f"api.html does not mention {name}")
        obj = getattr(sktfm, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            stub = f"generated/sktfm.{name}.html"
            if stub not in links or not (site / stub).is_file():
                problems.append(f"api.html does not link to a page of its own for {name} ({stub})")
    return problems


def gallery_problems(site):
    """Gallery pages of examples that use matplotlib but show no figure."""
    problems = []
    examples = sorted((DOCS.parent / "examples").glob("*.py"))
    if not examples:
        return ["no examples found in examples/"]
    for example in examples:
        page_path = site / "auto_examples" / f"{example.stem}.html"
        if not page_path.is_file():
            problems.append(f"no gallery page for {example.name}")
            continue
        if "matplotlib" not in example.read_text(encoding="utf-8"):
            continue
        figures = [src for src in parse(page_path).images if f"sphx_glr_{example.stem}_0" in src]
        if not figures:
            problems.append(f"{page_path.name} shows no figure, but {example.name} draws one")
    return problems


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def screenshot(chromium, page, png, height=1600):
    """Render ``page`` in headless Chromium (fresh profile, no network) into ``png``."""
    with tempfile.TemporaryDirectory(prefix="sktfm-docs-chromium-") as profile:
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--window-size=1280,{height}",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            page.as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    return result


def blank_reason(png):
    """Why the screenshot looks blank, or None when it shows a page."""
    import matplotlib.image
    import numpy as np

    if not png.is_file() or png.stat().st_size == 0:
        return "no screenshot written"
    pixels = matplotlib.image.imread(png)[..., :3]
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    if pixels.std() < 0.02 or len(colours) < 50:
        return f"nearly uniform ({len(colours)} colours, std {pixels.std():.3f})"
    return None


def render_problems(site, screenshots):
    chromium = find_chromium()
    if chromium is None:
        return [
            "Chromium is not installed, so the pages cannot be rendered: install it "
            "with `apt-get install chromium` (Debian/Ubuntu), then run make docs again."
        ]
    screenshots.mkdir(parents=True, exist_ok=True)
    gallery = site / "auto_examples"
    # The index, the gallery's thumbnails, and the shortest example page with
    # figures, whole (a tall window), so that its figures are in the picture.
    pages = {"index": (site / "index.html", 1600), "gallery": (gallery / "index.html", 1600)}
    with_figures = [
        path
        for path in sorted(gallery.glob("*.html"), key=lambda path: path.stat().st_size)
        if any(f"sphx_glr_{path.stem}_0" in src for src in parse(path).images)
    ]
    if with_figures:
        pages[f"gallery_{with_figures[0].stem}"] = (with_figures[0], 8000)
    problems = []
    for name, (page, height) in pages.items():
        png = screenshots / f"{name}.png"
        png.unlink(missing_ok=True)
        try:
            result = screenshot(chromium, page, png, height)
        except subprocess.TimeoutExpired:
            problems.append(f"Chromium timed out rendering {page}")
            continue
        reason = blank_reason(png)
        if reason:
            problems.append(
                f"screenshot of {page.name} ({png}): {reason}; Chromium said "
                f"(exit {result.returncode}): {result.stderr.strip()[-500:]}"
            )
        else:
            print(f"rendered {page.relative_to(site)} -> {png}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default=str(DOCS / "_build" / "html"))
    parser.add_argument("--screenshots", default=str(DOCS / "_build" / "screenshots"))
    args = parser.parse_args(argv)
    site = Path(args.site).resolve()
    if not (site / "index.html").is_file():
        print(f"no site at {site}: build it first (make docs)", file=sys.stderr)
        return 1
    n_pages, problems = broken_links(site)
    print(f"checked the links of {n_pages} pages")
    problems += api_problems(site)
    problems += gallery_problems(site)
    problems += render_problems(site, Path(args.screenshots))
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print(f"{len(problems)} problem(s)" if problems else "site check passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
