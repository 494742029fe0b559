"""A news question-answering assistant whose answers cite exact spans of the articles.

    from assistant import Assistant
    bot = Assistant(index="index/")
    bot.ingest(["seeds/"])
    print(bot.ask("How much territory did Ukraine lose in July?").answer)
"""
from .errors import AssistantError
from .facade import Assistant
from .settings import Settings
from .types import Answer, Chunk, Citation, Document, DocumentInfo, IngestReport, Passage, Sentence, Skipped, Usage, to_dict
from .verify import Verdict, verify

__all__ = ["Answer", "Assistant", "AssistantError", "Chunk", "Citation", "Document", "DocumentInfo", "IngestReport",
           "Passage", "Sentence", "Settings", "Skipped", "Usage", "Verdict", "to_dict", "verify"]
