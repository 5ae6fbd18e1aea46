"""A few SVG primitives for the report: every value that reaches the page is escaped here or by the caller."""

from __future__ import annotations

from html import escape

__all__ = ["Svg", "esc", "fmt"]


def esc(value: object) -> str:
    """Text or attribute value, escaped for HTML and SVG (quotes included)."""
    return escape(str(value), quote=True)


def fmt(value: object, digits: int = 1) -> str:
    """A number with thousands separators, without trailing zeros (``-`` for missing)."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else f"{value:.{digits + 2}g}"


class Svg:
    """An inline ``<svg>`` built element by element (``role="img"`` with a ``<title>`` for screen readers)."""

    def __init__(self, width: float, height: float, title: str, *, css_class: str = "pic") -> None:
        self.width = width
        self.height = height
        self.title = title
        self.css_class = css_class
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, *, cls: str = "", title: str = "", rx: float = 0) -> None:
        tip = f"<title>{esc(title)}</title>" if title else ""
        corner = f' rx="{rx:g}"' if rx else ""
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}"'
                          f"{corner}{_cls(cls)}>{tip}</rect>")

    def line(self, x1: float, y1: float, x2: float, y2: float, *, cls: str = "") -> None:
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{_cls(cls)}/>')

    def polygon(self, points: list[tuple[float, float]], *, cls: str = "", title: str = "") -> None:
        tip = f"<title>{esc(title)}</title>" if title else ""
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.parts.append(f'<polygon points="{coords}"{_cls(cls)}>{tip}</polygon>')

    def text(self, x: float, y: float, content: object, *, cls: str = "", anchor: str = "start") -> None:
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{_cls(cls)}>{esc(content)}</text>')

    def render(self) -> str:
        return (f'<svg class="{esc(self.css_class)}" xmlns="http://www.w3.org/2000/svg" role="img" '
                f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" width="{self.width:.0f}" '
                f'height="{self.height:.0f}" aria-label="{esc(self.title)}"><title>{esc(self.title)}</title>'
                + "".join(self.parts) + "</svg>")


def _cls(cls: str) -> str:
    return f' class="{esc(cls)}"' if cls else ""
