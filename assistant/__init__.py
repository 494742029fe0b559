"""A news question-answering assistant whose answers cite exact spans of the articles.

    from assistant import Assistant
    bot = Assistant(index="index/")
    bot.ingest(["seeds/"])
    print(bot.ask("How much territory did Ukraine lose in July?").answer)
"""
from assistant.answer.verify import Verdict, verify
from assistant.core.data import (
           Answer,
           Chunk,
           Citation,
           Document,
           DocumentInfo,
           IngestReport,
           Passage,
           Sentence,
           Skipped,
           Usage,
           to_dict,
)
from assistant.core.errors import AssistantError
from assistant.core.settings import Settings
from assistant.facade import Assistant

__all__ = ["Answer", "Assistant", "AssistantError", "Chunk", "Citation", "Document", "DocumentInfo", "IngestReport",
           "Passage", "Sentence", "Settings", "Skipped", "Usage", "Verdict", "to_dict", "verify"]
