"""Link crawl of the demo portal, per persona.

With the demo data loaded, each demo account logs in through the login page and follows, breadth
first from ``/``, every internal GET link the portal renders for it: ``<a href>`` and ``hx-get``
(requested as htmx does, with ``HX-Request``), and GET forms (filters, pickers) submitted as
rendered and once per other option of each select. Logout, the language switch, static files and the
Django admin are skipped (the admin persona visits a bounded sample of the admin); downloads are
requested and their status checked, their bodies are not parsed. Page numbers beyond 2 count as one
URL, each route shape (ids and query
values aside) is sampled ``MAX_PER_SHAPE`` times, and each persona visits at most ``MAX_URLS``
URLs.

Checks: no response >= 500, and no 4xx for a link the portal rendered for that user (a link shown
to a user must work for that user, or not be shown); every full HTML page has ``<html lang="vi"``,
a ``<title>`` of its own, exactly one ``<h1>``, no template placeholder left over (``{{``, ``{%``,
``%(``), and, outside the Django admin, accessible HTML: images with alt text, form fields
with a label, links and buttons with a name, no duplicate ids. The 403 and 404 pages, which a
working crawl never reaches, get the same page checks in a fast test.

The leader and the reviewer also crawl with the English UI (the language switch); Vietnamese UI
text left on those pages is reported (printed with ``-s``), not asserted: telling UI text from data
values (agency and indicator names) is a judgment call.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from evidence.models import Notification

PASSWORD = "demo12345"  # noqa: S105 - demo accounts
STAFF = ["canbo_khcn", "canbo_vpubnd", "canbo_vnpt", "canbo_nhatrang"]
ANONYMOUS = "anonymous"  # no login: the login page and what it links to
PERSONAS = [*STAFF, "thamdinh", "lanhdao", "hoidong", "quantri", ANONYMOUS]
ADMIN_PERSONA = "quantri"
MAX_URLS = 400
MAX_PER_SHAPE = 15  # URLs per route shape (ids and query values aside), so no list eats the budget
ADMIN_SAMPLE = 60
SKIP_PREFIXES = ("/accounts/logout/", "/i18n/", "/static/", "/media/", "/__debug__/")
PLACEHOLDERS = ("{{", "{%", "%(")
VI_CHARS = re.compile(
    "[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.IGNORECASE
)
LABELLED_BY_ATTR = ("aria-label", "aria-labelledby", "title")
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


@dataclass
class GetForm:
    """A GET form: its action, default values and the options of its selects."""

    action: str
    values: list[tuple[str, str]] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=dict)

    def urls(self) -> list[str]:
        """The form submitted as rendered, then once per other option of each select."""
        out = [self._url(self.values)]
        for name, options in self.options.items():
            for option in options:
                values = [(k, option if k == name else v) for k, v in self.values]
                out.append(self._url(values))
        return out

    def _url(self, values: list[tuple[str, str]]) -> str:
        return self.action.split("?")[0] + "?" + urlencode(values)


@dataclass
class Page(HTMLParser):
    """What the crawl needs from one HTML response: links, structure, labels, visible text."""

    links: list[tuple[str, bool]] = field(default_factory=list)  # (url, htmx)
    html_lang: str | None = None
    title: str = ""
    h1: int = 0
    images_without_alt: list[str] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)  # (id, description)
    labelled_ids: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)
    ids: Counter[str] = field(default_factory=Counter)
    unnamed: list[str] = field(default_factory=list)  # links and buttons without a name
    forms: list[GetForm] = field(default_factory=list)  # GET forms (filters, pickers)
    _form: GetForm | None = None
    _select: str | None = None
    _stack: list[str] = field(default_factory=list)
    _in_label: int = 0
    _lang: list[str] = field(default_factory=list)  # tags of open elements with their own lang
    _named: list[tuple[str, str, bool]] = field(default_factory=list)  # open <a>/<button>

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if a.get("id"):
            self.ids[a["id"]] += 1
        if tag in ("a", "button"):
            named = any(a.get(k) for k in LABELLED_BY_ATTR)
            self._named.append((tag, a.get("href") or a.get("name") or "?", named))
        elif tag == "img" and a.get("alt") and self._named:
            self._mark_named()
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "a" and a.get("href"):
            self.links.append((a["href"], False))
        elif tag == "img" and "alt" not in a:
            self.images_without_alt.append(a.get("src", "?"))
        elif tag == "label":
            self._in_label += 1
            if a.get("for"):
                self.labelled_ids.add(a["for"])
        elif tag == "form" and a.get("method", "get").lower() == "get":
            self._form = GetForm(a.get("action", ""))
            self.forms.append(self._form)
        elif tag == "option" and self._form is not None and self._select and "value" in a:
            if "selected" in a:
                self._form.values.append((self._select, a["value"]))
            else:
                self._form.options.setdefault(self._select, []).append(a["value"])
        if tag in ("input", "select", "textarea"):
            kind = a.get("type", "text").lower() if tag == "input" else tag
            self._add_to_form(tag, kind, a)
            labelled = self._in_label or any(a.get(k) for k in LABELLED_BY_ATTR)
            if kind not in UNLABELLED_TYPES and not labelled:
                self.fields.append((a.get("id", ""), f"<{tag} name={a.get('name', '?')!r}>"))
        if a.get("hx-get"):
            self.links.append((a["hx-get"], True))
        for attr in ("placeholder", "aria-label", "title"):
            if a.get(attr):
                self.texts.append(a[attr])
        if tag not in ("input", "img", "br", "hr", "meta", "link", "col", "source", "wbr"):
            self._stack.append(tag)
            if a.get("lang") and tag != "html":
                self._lang.append(tag)

    def _add_to_form(self, tag: str, kind: str, a: dict[str, str]) -> None:
        if self._form is None or not a.get("name") or "disabled" in a:
            return
        if tag == "select":
            self._select = a["name"]
        elif kind in ("checkbox", "radio"):
            if "checked" in a:
                self._form.values.append((a["name"], a.get("value", "on")))
        elif kind not in ("submit", "button", "reset", "image", "file"):
            self._form.values.append((a["name"], a.get("value", "")))

    def _mark_named(self) -> None:
        self._named = [(t, what, True) for t, what, _named in self._named]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("a", "button") and self._named:
            kind, what, named = self._named.pop()
            if not named:
                self.unnamed.append(f"<{kind} {what}>")
        if tag == "form":
            self._form = None
        elif tag == "select" and self._form is not None and self._select:
            # No option marked selected: the browser sends the first one.
            if not any(k == self._select for k, _v in self._form.values):
                first = self._form.options.get(self._select, [""])
                self._form.values.append((self._select, first.pop(0) if first else ""))
            self._select = None
        if tag == "label" and self._in_label:
            self._in_label -= 1
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass
            if self._lang and self._lang[-1] == tag:
                self._lang.pop()

    def handle_data(self, data: str) -> None:
        text = data.strip()
        if not text or (self._stack and self._stack[-1] in ("script", "style")):
            return
        if self._named:
            self._mark_named()
        if self._stack and self._stack[-1] == "title":
            self.title += text
        if not self._lang:  # the language switch says "Tiếng Việt" in Vietnamese, on purpose
            self.texts.append(text)

    def unlabelled_fields(self) -> list[str]:
        return [desc for fid, desc in self.fields if not fid or fid not in self.labelled_ids]


@dataclass
class Crawl:
    persona: str
    visited: dict[str, int] = field(default_factory=dict)  # url -> status
    problems: list[str] = field(default_factory=list)
    vietnamese: dict[str, list[str]] = field(default_factory=dict)  # url -> VN texts (English UI)
    home_title: str = ""  # the portal's name: other pages say what they are


def normalise(href: str, base: str) -> str | None:
    """The internal URL ``href`` points to from ``base``, or None when the crawl skips it."""
    href = href.strip()
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
        return None
    parts = urlsplit(urljoin("http://testserver" + base, href))
    if parts.netloc != "testserver" or parts.path.startswith(SKIP_PREFIXES):
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(("", "", parts.path, query, ""))


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def dedupe_key(url: str) -> str:
    """Pages beyond 2 of the same list count as one URL."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    params = [(k, "3+" if k == "page" and v.isdigit() and int(v) > 2 else v) for k, v in params]
    return urlunsplit(("", "", parts.path, urlencode(params), ""))


def shape(url: str) -> str:
    """The route shape of ``url``: numbers in the path and query values blanked."""
    parts = urlsplit(url)
    keys = sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True)})
    if parts.path.startswith("/admin/"):
        keys = []  # change list filters and sorts: a sample of the admin, not of its filters
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def login(username: str, language: str = "vi") -> Client:
    client = Client()
    if language != "vi":
        client.post("/i18n/setlang/", {"language": language, "next": "/"})
    if username == ANONYMOUS:
        return client
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, f"{username} cannot log in ({response.status_code})"
    return client


def is_download(response) -> bool:
    content_type = response.get("Content-Type", "")
    return "attachment" in response.get("Content-Disposition", "") or not content_type.startswith(
        "text/html"
    )


def check_page(crawl: Crawl, url: str, page: Page, language: str) -> None:
    where = f"{crawl.persona} {url}"
    if page.html_lang != language:
        crawl.problems.append(f"{where}: <html lang={page.html_lang!r}>, expected {language!r}")
    if not page.title.strip():
        crawl.problems.append(f"{where}: no <title>")
    elif url == "/":
        crawl.home_title = page.title
    elif page.title == crawl.home_title and not url.startswith("/admin/"):
        crawl.problems.append(f"{where}: the portal's title {page.title!r}, not the page's own")
    if page.h1 != 1:
        crawl.problems.append(f"{where}: {page.h1} <h1> elements")
    check_fragment(crawl, url, page)


def check_fragment(crawl: Crawl, url: str, page: Page) -> None:
    """Checks that also hold for htmx fragments."""
    where = f"{crawl.persona} {url}"
    for text in page.texts:
        for mark in PLACEHOLDERS:
            if mark in text:
                crawl.problems.append(f"{where}: template placeholder {mark!r} in {text[:80]!r}")
    if url.startswith("/admin/"):
        return  # Django's own admin markup (tabular inlines are labelled by column headers)
    for src in page.images_without_alt:
        crawl.problems.append(f"{where}: <img src={src!r}> without alt")
    for desc in page.unlabelled_fields():
        crawl.problems.append(f"{where}: form field {desc} without a label")
    for desc in page.unnamed:
        crawl.problems.append(f"{where}: {desc} without text or aria-label")
    for element_id, count in page.ids.items():
        if count > 1:
            crawl.problems.append(f"{where}: id={element_id!r} used {count} times")


def crawl_as(persona: str, language: str = "vi") -> Crawl:
    client = login(persona, language)
    crawl = Crawl(persona)
    queue: deque[tuple[str, bool, str]] = deque([("/", False, "(start)")])
    seen = {dedupe_key("/")}
    # Notifications open (POST) onto their stored link: links shown to the user as well.
    links = Notification.objects.filter(recipient__username=persona).exclude(link="")
    for link in sorted(set(links.values_list("link", flat=True)))[:MAX_PER_SHAPE]:
        if (target := normalise(link, "/")) and dedupe_key(target) not in seen:
            seen.add(dedupe_key(target))
            queue.append((target, False, "(notification)"))
    admin_visits = 0
    shapes: Counter[str] = Counter()
    while queue and len(crawl.visited) < MAX_URLS:
        url, htmx, source = queue.popleft()
        headers = {"HX-Request": "true", "HX-Current-URL": "http://testserver" + source}
        response = client.get(url, headers=headers if htmx else {})
        status = response.status_code
        crawl.visited[url] = status
        if status >= 400:
            crawl.problems.append(f"{persona} {url}: {status} (linked from {source})")
            continue
        found: list[tuple[str, bool]] = []
        if status in (301, 302, 303, 307, 308):
            found = [(response["Location"], htmx)]
        elif is_download(response):
            # Drain through the test client's wrapper, which closes the response without firing
            # close_old_connections (calling close() directly closes the test's PostgreSQL
            # connection, which is inside the test's transaction).
            if response.streaming:
                for _chunk in response.streaming_content:
                    pass
            continue
        else:
            body = response.content.decode()
            page = parse(body)
            if htmx and "<html" not in body:
                check_fragment(crawl, url, page)
            else:
                check_page(crawl, url, page, language)
            if language != "vi":
                texts = [t for t in page.texts if VI_CHARS.search(t)]
                if texts:
                    crawl.vietnamese[url] = texts
            found = page.links + [(u, False) for form in page.forms for u in form.urls()]
        for href, is_hx in found:
            target = normalise(href, url)
            if target is None:
                continue
            if target.startswith("/admin/") and (
                persona != ADMIN_PERSONA or admin_visits >= ADMIN_SAMPLE
            ):
                continue
            key = dedupe_key(target)
            if key in seen:
                continue
            seen.add(key)
            shapes[shape(target)] += 1
            if shapes[shape(target)] > MAX_PER_SHAPE:
                continue
            if target.startswith("/admin/"):
                admin_visits += 1
            queue.append((target, is_hx, url))
    return crawl


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data once for the module, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_crawl_persona(demo, persona):
    crawl = crawl_as(persona)
    statuses = Counter(crawl.visited.values())
    print(f"\n{persona}: {len(crawl.visited)} URLs, statuses {dict(statuses)}")
    assert len(crawl.visited) > (1 if persona == ANONYMOUS else 5), "the crawl found few links"
    assert not crawl.problems, "\n".join(crawl.problems)


def data_text() -> str:
    """Every text value of the agencies, indicators and evidence tables, one a line: Vietnamese
    there is data (names of agencies, indicators, people, rule options, reviewers' notes), not UI.
    The scoring tables are left out: their explanations are shown in the reader's language."""
    from django.apps import apps
    from django.db import models

    chunks: list[str] = []
    for label in ("agencies", "indicators", "evidence"):
        for model in apps.get_app_config(label).get_models():
            names = [
                f.name
                for f in model._meta.concrete_fields
                if isinstance(f, (models.CharField, models.TextField, models.JSONField))
            ]
            for row in model._default_manager.values_list(*names):
                chunks.extend(
                    v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in row
                )
    return "\n".join(chunks)


def ui_leftovers(texts: list[str], data: str) -> list[str]:
    """The Vietnamese pieces of ``texts`` that are not found in the data (so: UI text)."""
    out = []
    for text in texts:
        for piece in re.split(r"[;·:(),\n]", text):  # "A, B": two data values
            # English words or a code before a name ("Main index 7. Hạ tầng số"): not the name.
            piece = re.sub(r"^[\x00-\x7f]*\s(?=\S*[^\x00-\x7f])", "", piece.strip(" .…,–—"))
            # ... and English words after it ("Sở KH&CN has sent indicator 3.4", a notification
            # in English naming an agency): the Vietnamese left must still be a data value.
            piece = re.sub(r"(?<=[^\x00-\x7f])(\S*)\s[\x00-\x7f]*$", r"\1", piece)
            if VI_CHARS.search(piece) and piece not in data:
                out.append(text)
                break
    return out


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["lanhdao", "thamdinh"])
def test_crawl_english(demo, persona):
    """The English UI works the same; Vietnamese UI text left on its pages is reported."""
    crawl = crawl_as(persona, language="en")
    data = data_text()
    leftovers: Counter[str] = Counter()
    first_url: dict[str, str] = {}
    for url, texts in crawl.vietnamese.items():
        for text in ui_leftovers(texts, data):
            leftovers[text] += 1
            first_url.setdefault(text, url)
    print(f"\n{persona} (English UI): {len(crawl.visited)} URLs")
    print(f"{len(leftovers)} Vietnamese strings that are not data values:")
    for text, count in leftovers.most_common(40):
        print(f"  {count:4d}x {text[:90]!r}  e.g. {first_url[text]}")
    assert len(crawl.visited) > 5, "the crawl found almost no links"
    assert not crawl.problems, "\n".join(crawl.problems)
    # Score explanations are shown in the reader's language too (structured messages): no
    # Vietnamese left on an English page that is not a data value.
    assert not leftovers, [f"{text!r} on {first_url[text]}" for text in leftovers]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "status"), [("/no-such-page/", 404), ("/reporting/audit/", 403)])
def test_error_pages_pass_the_page_checks(client_as, leader, url, status):
    """The 403 and 404 pages, which a working crawl never reaches, pass the same page checks."""
    client = client_as(leader)
    response = client.get(url)
    assert response.status_code == status
    crawl = Crawl("leader", home_title=parse(client.get("/").content.decode()).title)
    check_page(crawl, url, parse(response.content.decode()), "vi")
    assert not crawl.problems, "\n".join(crawl.problems)
