"""Rendering a digest: mail-safe HTML (parsed: no script, no on*, no remote resources, http(s) links only),
hostile third-party text escaped, a plain-text part with the same links, a one-line subject (W1, W3, M1, M7)."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest

from paperwire.digest.compose import Digest, DigestPrefs, compose_digest
from paperwire.digest.render import DigestLinks, RenderedDigest, _env, covers_label, day_label, render_digest
from paperwire.models import Paper

LINKS = DigestLinks(
    base_url="https://papers.example.org/",
    manage_url="https://papers.example.org/digest/manage/TOKEN-m",
    unsubscribe_url="https://papers.example.org/unsubscribe/TOKEN-u",
)
HOSTILE_TITLE = (
    'Depth <script>alert("t")</script></td></tr></table> & \u202eevil\u202c $x^2$\r\nBcc: victim@example.com'
)
HOSTILE_ABSTRACT = (
    'We show <img src=x onerror=alert(1)> that $\\mathcal{O}(n^2)$ & <a href="javascript:alert(1)">this</a> '
    "</script><style>body{display:none}</style> works."
)
HOSTILE_AUTHOR = '<b onmouseover="alert(1)">Mallory</b>'
WATCH = '"depth estimation" cat:cs.CV <script>-video'
COVERS = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]


class Collector(HTMLParser):
    """Every tag, attribute and text node of a document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, k, v or "") for k, v in attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collector:
    c = Collector()
    c.feed(html)
    c.close()
    return c


def hostile_digest(**prefs_kw: object) -> Digest:
    bad = Paper(
        id="2603.01234",
        version=2,
        title=HOSTILE_TITLE,
        abstract=HOSTILE_ABSTRACT,
        authors=(HOSTILE_AUTHOR, "Alice", "Bob", "Carol", "Dan", "Eve"),
        categories=("cs.CV",),
    )
    plain = Paper(
        id="hep-th/9901001",
        title="Strings",
        abstract="Old style id.",
        authors=("Ed Witten",),
        categories=("hep-th",),
    )
    prefs = DigestPrefs(watches=(WATCH,), categories=("cs.CV", "hep-th"), trending_n=1, **prefs_kw)  # type: ignore[arg-type]
    return compose_digest(
        prefs,
        COVERS,
        watch_hits={
            WATCH: [bad, *[Paper(id=f"2603.{i:05d}", title=f"W{i}", abstract="w") for i in range(30, 35)]]
        },
        category_papers=[
            plain,
            *[Paper(id=f"2603.{i:05d}", title=f"P{i}", abstract="a") for i in range(10, 20)],
        ],
        trending=[(bad, ['<i>42</i> upvotes "today"'])],
        for_you=[],
        already_sent=[],
        max_entries=4,
        address="reader@example.org",
    )


@pytest.fixture
def rendered() -> RenderedDigest:
    return render_digest(hostile_digest(), LINKS)


def test_html_is_mail_safe(rendered: RenderedDigest) -> None:
    doc = parse(rendered.html)
    assert "script" not in doc.tags and "style" not in doc.tags
    assert not {
        "img",
        "link",
        "iframe",
        "object",
        "embed",
        "form",
        "input",
        "video",
        "audio",
        "svg",
        "base",
    } & set(doc.tags)
    assert "table" in doc.tags
    for tag, name, value in doc.attrs:
        assert not name.startswith("on"), (tag, name)
        assert name not in ("src", "srcset", "background", "class", "id")
        if name == "href":
            assert re.match(r"https?://", value), value
        if name == "style":
            assert "url(" not in value and "@import" not in value and "expression" not in value


def test_hostile_text_is_escaped_text(rendered: RenderedDigest) -> None:
    html = rendered.html
    assert "<script>alert" not in html and "<img" not in html and 'href="javascript' not in html
    text = "".join(parse(html).text)
    # the parsed text shows the title as written (less the bidi override), so the reader sees what it is
    assert 'Depth <script>alert("t")</script></td></tr></table> & evil $x^2$ Bcc: victim@example.com' in text
    assert "<img src=x onerror=alert(1)>" in text
    assert '<b onmouseover="alert(1)">Mallory</b>' in text
    assert WATCH in text


def test_bidi_controls_are_stripped_everywhere(rendered: RenderedDigest) -> None:
    for part in (rendered.subject, rendered.text, rendered.html):
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", part)


def test_subject_is_one_line_whatever_the_title(rendered: RenderedDigest) -> None:
    s = rendered.subject
    assert "\r" not in s and "\n" not in s and not any(ord(c) < 32 for c in s)
    assert s.startswith("paperwire digest, Mon 2 Mar – Wed 4 Mar: “Depth")
    assert "more" in s and len(s) < 160


def test_links_in_both_parts(rendered: RenderedDigest) -> None:
    hrefs = {v for _tag, k, v in parse(rendered.html).attrs if k == "href"}
    text_urls = set(re.findall(r"https?://\S+", rendered.text))
    assert hrefs == text_urls
    assert LINKS.unsubscribe_url in hrefs and LINKS.manage_url in hrefs
    assert "https://papers.example.org/paper/2603.01234" in hrefs
    assert "https://arxiv.org/abs/2603.01234" in hrefs
    assert "https://papers.example.org/paper/hep-th/9901001" in hrefs
    assert "https://arxiv.org/abs/hep-th/9901001" in hrefs
    # the watch's "and N more" goes to its search, the query encoded
    more = [u for u in hrefs if "/search?" in u]
    assert more == [
        "https://papers.example.org/search?q=%22depth+estimation%22+cat%3Acs.CV+%3Cscript%3E-video"
    ]
    assert "https://papers.example.org/" in hrefs  # two categories: the day's list


def test_visible_footer_links(rendered: RenderedDigest) -> None:
    html = rendered.html
    assert f'<a href="{LINKS.unsubscribe_url}"' in html and ">Unsubscribe</a>" in html
    assert f'<a href="{LINKS.manage_url}"' in html and ">Manage your digest</a>" in html
    assert f"Unsubscribe: {LINKS.unsubscribe_url}" in rendered.text
    assert f"Manage your digest: {LINKS.manage_url}" in rendered.text


def test_content_header_reasons_and_tex(rendered: RenderedDigest) -> None:
    for part in (rendered.text, "".join(parse(rendered.html).text)):
        assert "Announced Mon 2 Mar – Wed 4 Mar" in part
        assert "Mon 2 Mar, Tue 3 Mar, Wed 4 Mar" in part
        assert "$x^2$" in part and "$\\mathcal{O}(n^2)$" in part  # TeX as written
        assert "Why: matches your watch: " in part
        assert 'trending: <i>42</i> upvotes "today"' in part
        assert "Carol and 2 more" in part  # authors shortened
        assert "Dan" not in part and "Eve" not in part
        assert "and 4 more" in part and "and 9 more" in part  # sections cut to max_entries
    assert "&lt;i&gt;42&lt;/i&gt;" in rendered.html


def test_plain_text_is_not_html_escaped(rendered: RenderedDigest) -> None:
    assert "&amp;" not in rendered.text and "&lt;" not in rendered.text and "&#34;" not in rendered.text
    assert '& <a href="javascript:alert(1)">this</a>' in " ".join(rendered.text.split())  # the text it is
    assert "\r" not in rendered.text


def test_html_template_autoescapes_and_text_does_not() -> None:
    env = _env()
    assert callable(env.autoescape)
    assert env.autoescape("digest.html") is True
    assert env.autoescape("digest.txt") is False


def test_nothing_announced_note() -> None:
    d = compose_digest(
        DigestPrefs(), [], watch_hits={}, category_papers=[], trending=[], for_you=[], already_sent=[]
    )
    r = render_digest(d, LINKS)
    assert r.subject == "paperwire digest: nothing new since your last digest"
    assert "arXiv has announced nothing since your last digest" in r.text
    assert "Your next digest will say which days it covers" in "".join(parse(r.html).text)
    assert LINKS.unsubscribe_url in r.text and LINKS.unsubscribe_url in r.html


def test_nothing_matched_note() -> None:
    d = compose_digest(
        DigestPrefs(frequency="weekly"),
        [date(2026, 3, 6)],
        watch_hits={},
        category_papers=[],
        trending=[],
        for_you=[],
        already_sent=[],
    )
    r = render_digest(d, LINKS)
    assert r.subject == "paperwire weekly digest, Fri 6 Mar: nothing new for you"
    assert "arXiv announced new papers on Fri 6 Mar, but none matched" in r.text
    assert "paperwire weekly digest" in r.html


def test_labels() -> None:
    assert day_label(date(2026, 3, 2)) == "Mon 2 Mar"
    assert covers_label([date(2026, 3, 2)]) == "Mon 2 Mar"
    assert covers_label([date(2026, 3, 3), date(2026, 3, 2)]) == "Mon 2 Mar and Tue 3 Mar"
    assert covers_label([date(2025, 12, 31), date(2026, 1, 2)]) == "Wed 31 Dec 2025 and Fri 2 Jan 2026"
    assert covers_label([]) == ""


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "/relative",
        "ftp://x.example.org/",
        "https://x.example.org/\r\nBcc: y",
        'https://x.example.org/"x',
    ],
)
def test_links_must_be_http(bad: str) -> None:
    with pytest.raises(ValueError, match="http"):
        DigestLinks(
            base_url="https://ok.example.org", manage_url=bad, unsubscribe_url="https://ok.example.org/u"
        )


def test_one_category_more_link_opens_its_day_list() -> None:
    d = compose_digest(
        DigestPrefs(categories=("cs.CV",), trending_n=0),
        COVERS,
        watch_hits={},
        category_papers=[Paper(id=f"2603.{i:05d}", title=f"P{i}", abstract="a") for i in range(5)],
        trending=[],
        for_you=[],
        already_sent=[],
        max_entries=2,
    )
    r = render_digest(d, LINKS)
    assert "and 3 more: https://papers.example.org/?category=cs.CV" in r.text
    assert 'href="https://papers.example.org/?category=cs.CV"' in r.html
