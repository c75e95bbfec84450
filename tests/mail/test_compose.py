"""mail/outbox.compose: whatever the bodies hold, the message parses back to them, in one recipient's mail with
lines SMTP can carry (property-based: hypothesis)."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from hypothesis import given, settings
from hypothesis import strategies as st

from paperwire.mail import Mail
from paperwire.mail.outbox import MAX_LINE, compose

# what bodies may hold: any text, and more than chance gives of what MIME and SMTP care about
_TRICKY = st.sampled_from(
    [
        "\n",
        "\r\n",
        "\r",
        ".",
        "..",
        "From ",
        "--",
        "=_paperwire_",
        "é",
        "€",
        "😀",
        "\0",
        "\x85",
        "\u2028",
        "\x0c",
    ]
)
_BODY = st.lists(st.one_of(st.text(max_size=40), _TRICKY, st.just("x" * 1200)), max_size=30).map("".join)


def _parsed(data: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


def _lines(text: str) -> str:
    """A body as it comes back: every line break (CR LF, CR or LF: what SMTP calls one) a newline, and one at the
    end."""
    parts = re.split(r"\r\n|\r|\n", text)
    if parts[-1] == "":
        parts.pop()
    return "".join(p + "\n" for p in parts) or "\n"


@settings(max_examples=150, deadline=None)
@given(text=_BODY, html=st.one_of(st.none(), _BODY), eight=st.booleans())
def test_any_bodies_parse_back_in_lines_smtp_carries(text: str, html: str | None, eight: bool) -> None:
    mail = Mail(
        to="reader@example.org", subject="Grüße, “papers”", text=text, html=html, message_id="<a@b.org>"
    )
    data, mid = compose(
        mail, "paperwire <p@example.org>", "example.org", transfer="8bit" if eight else "7bit"
    )
    assert mid == "<a@b.org>"
    assert all(len(line) <= MAX_LINE for line in data.split(b"\r\n"))
    assert b"\0" not in data and b"\r\n" in data and not data.replace(b"\r\n", b"").count(b"\n")
    if not eight:
        assert data.isascii()
    msg = _parsed(data)
    assert msg["To"] == "reader@example.org" and msg["Subject"] == "Grüße, “papers”"
    plain = msg.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().replace("\r\n", "\n").replace("\r", "\n") == _lines(text)
    if html is not None:
        part = msg.get_body(preferencelist=("html",))
        assert part is not None and part.get_content().replace("\r\n", "\n").replace("\r", "\n") == _lines(
            html
        )
