"""QR codes of otpauth:// links, drawn by the optional `segno` extra; without it, pages show the key and link only."""

from markupsafe import Markup

try:  # pip install 'wsgiauth[qr]'
    import segno
except ImportError:  # the core runs without it
    segno = None

AVAILABLE = segno is not None


def svg(text: str, title: str):
    """Return text as an inline SVG QR code (safe to put in a page), or None without segno."""
    if segno is None:
        return None
    # segno writes the SVG itself from the code's modules and escapes the
    # title: nothing of `text` reaches the markup but black squares. Error
    # correction M survives a smudged screen; 5 px modules scan from a phone.
    return Markup(segno.make(text, error="m").svg_inline(scale=5, title=title, svgclass="qr-code"))
