"""PDF files: the text of every page (pypdf), with caps on pages and text."""
from __future__ import annotations

import io

from assistant.core.errors import LoadError

MAX_PDF_PAGES = 2000
MAX_TEXT_CHARS = 20_000_000


def pdf_text(data: bytes) -> str:
    """Text of a PDF. pypdf caps each decompressed stream (a decompression bomb raises
    LimitReachedError); we also cap pages and the total text."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise LoadError(f"PDF has {len(reader.pages)} pages (more than {MAX_PDF_PAGES})")
        pages, size = [], 0
        for page in reader.pages:
            text = page.extract_text() or ""
            size += len(text)
            if size > MAX_TEXT_CHARS:
                raise LoadError("PDF text larger than 20 million characters: not an article")
            pages.append(text)
    except LimitReachedError:
        raise LoadError("PDF stream decompresses past the safety limit (a decompression bomb?)") from None
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, MemoryError) as e:
        raise LoadError(f"unreadable PDF ({type(e).__name__})") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())
