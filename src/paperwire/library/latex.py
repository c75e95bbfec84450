"""LaTeX in reference fields to plain text and back (pure).

Reading decodes what reference managers write: accents in every spelling BibTeX allows (``{\\"u}``,
``\\"{u}``, ``\\"u``, ``\\'{e}``, ``\\c{c}``), special letters (``\\ss``, ``\\o``, ``\\l``), escaped
specials (``\\&``, ``\\%``), font commands (``\\emph{x}``, ``\\textbf{x}``), protecting braces, ``~`` and
dashes. Math (``$...$``) is kept as written: arXiv titles carry it so. The common cases are done here with
regular expressions (microseconds an entry); anything stranger goes to pylatexenc (about a millisecond).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# accent command -> combining character
_ACCENTS = {
    "`": "\u0300",
    "'": "\u0301",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
_LETTERS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "dh": "ð",
    "DH": "Ð",
    "th": "þ",
    "TH": "Þ",
    "ng": "ŋ",
    "NG": "Ŋ",
}
# escaped specials are held as private-use characters while protecting braces are removed (and while
# pylatexenc reads the rest: a bare $ would start math for it)
_HELD = {c: chr(0xE000 + i) for i, c in enumerate("{}$&%#_\\~^")}
_RELEASE = {v: k for k, v in _HELD.items()}
_BACKSLASH_RE = re.compile(r"\\textbackslash(?:\{\}|(?![A-Za-z])\s*)")
_FONT = (
    r"(?:emph|textit|textbf|textrm|textsf|texttt|textsc|textup|textsl|textnormal|mbox|text|url|NoCaseChange)"
)

_SYMBOL_ACCENT = r"[`'^\"~=.]"
_LETTER_ACCENT = r"[uvHckrdb]"
# {\"u} \"{u} \"u \'\i \c{c} \v s   (a letter accent needs braces or a space before its letter)
_ACCENT_RE = re.compile(
    rf"\\(?:(?P<sym>{_SYMBOL_ACCENT})\s*|(?P<let>{_LETTER_ACCENT})(?:\s+|(?=\{{)))"
    r"(?:\{\s*(?P<braced>\\?[A-Za-z]{1,2}|)\s*\}|(?P<bare>\\?[A-Za-z]))"
)
_LETTER_RE = re.compile(r"\\(ss|ae|AE|oe|OE|aa|AA|dh|DH|th|TH|ng|NG|o|O|l|L|i|j)(?![A-Za-z])(?:\{\}|\s*)")
_ESCAPE_RE = re.compile(r"\\([&%$#_{} ,])")
_FONT_RE = re.compile(rf"\\{_FONT}\s*\{{([^{{}}]*)\}}")
_MATH_RE = re.compile(r"(?<!\\)\$[^$]*(?<!\\)\$")
_DASHES = (("---", "—"), ("--", "–"), ("``", "“"), ("''", "”"))


def _accent(m: re.Match[str]) -> str:
    mark = _ACCENTS[m.group("sym") or m.group("let")]
    base = m.group("braced") if m.group("braced") is not None else m.group("bare")
    if not base and m.group("sym"):  # \~{} and \^{}: the character itself
        return _HELD.get(m.group("sym"), m.group("sym"))
    if base.startswith("\\"):
        base = _LETTERS.get(base[1:], base[1:])
    if base == "ı":  # \'{\i}: the dotless i takes the accent in place of its dot
        base = "i"
    return unicodedata.normalize("NFC", base + mark) if base else mark


def latex_to_text(value: str | None) -> str:
    """Plain Unicode text of a field written in LaTeX; math segments are kept as written."""
    if not value:
        return ""
    if not any(c in value for c in "\\{}~$-`'"):
        return " ".join(value.split())
    return _decode(value)


@lru_cache(maxsize=65536)
def _decode(value: str) -> str:
    parts = []
    last = 0
    for m in _MATH_RE.finditer(value):
        parts.append(_decode_text(value[last : m.start()]))
        parts.append(m.group(0))
        last = m.end()
    parts.append(_decode_text(value[last:]))
    return " ".join("".join(parts).split())


def _decode_text(s: str) -> str:
    if "\\" in s:
        s = _ACCENT_RE.sub(_accent, s)
        s = _LETTER_RE.sub(lambda m: _LETTERS[m.group(1)], s)
        for _ in range(3):  # nested: \emph{\textbf{x}}
            s, n = _FONT_RE.subn(r"\1", s)
            if not n:
                break
        s = _BACKSLASH_RE.sub(_HELD["\\"], s)
        s = _ESCAPE_RE.sub(lambda m: _HELD.get(m.group(1), " "), s)
    if "\\" in s:
        s = _pylatexenc(s)
    s = s.replace("{", "").replace("}", "").replace("~", "\u00a0")
    for tex, char in _DASHES:
        s = s.replace(tex, char)
    return "".join(_RELEASE.get(c, c) for c in s) if any(c in _RELEASE for c in s) else s


def _pylatexenc(s: str) -> str:
    """The rare commands the expressions do not know, by pylatexenc (unknown macros keep their argument)."""
    from pylatexenc.latex2text import LatexNodes2Text  # type: ignore[import-untyped]

    protected = "".join(_TEX_SPECIALS[_RELEASE[c]] if c in _RELEASE else c for c in s)
    return str(LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=True).latex_to_text(protected))


# -- writing ----------------------------------------------------------------------------------------------

_TEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "$": r"\$",
    "^": r"\^{}",
    "~": r"\~{}",
}
_SPECIALS_RE = re.compile(r"[\\{}&%#_$^~]")
_MIXED_CASE = re.compile(r"(?<![\w{])([A-Za-z0-9]*[A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9\-]*)")


def text_to_latex(value: str, *, protect_case: bool = False) -> str:
    """A plain-text field as a BibTeX value: specials escaped, balanced math kept as written, Unicode kept
    (BibTeX files are UTF-8 nowadays); ``protect_case`` braces words with inner capitals (BERT, ImageNet) so
    styles that lowercase titles leave them alone."""
    parts = []
    last = 0
    for m in _MATH_RE.finditer(value):
        if _balanced(m.group(0)):
            parts.append(_escape(value[last : m.start()], protect_case))
            parts.append(m.group(0))
            last = m.end()
    parts.append(_escape(value[last:], protect_case))
    return "".join(parts)


def _escape(s: str, protect_case: bool) -> str:
    s = _SPECIALS_RE.sub(lambda m: _TEX_SPECIALS[m.group(0)], s)
    if protect_case:
        s = _MIXED_CASE.sub(r"{\1}", s)
    return s


def _balanced(s: str) -> bool:
    depth = 0
    escaped = False
    for c in s:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0
