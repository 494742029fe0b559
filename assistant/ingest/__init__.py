"""From files to indexed chunks: one reader per format over shared document building, article
shaping, chunking, embedding workers, the commit and the repair."""

from assistant.ingest.article import shape
from assistant.ingest.chunk import Chunker
from assistant.ingest.commit import ingest_documents
from assistant.ingest.html_text import extract_html
from assistant.ingest.load import load_file, load_paths, suffix_of
from assistant.ingest.prepare import Prepared, Preparer
from assistant.ingest.repair import RepairReport, repair_index

__all__ = [
    "Chunker",
    "Prepared",
    "Preparer",
    "RepairReport",
    "extract_html",
    "ingest_documents",
    "load_file",
    "load_paths",
    "repair_index",
    "shape",
    "suffix_of",
]
