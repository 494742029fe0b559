"""Defences against hostile article text (indirect prompt injection).

- `is_instruction`: a sentence addressed to an AI assistant ("ignore previous
  instructions", "reply only ...", "append this link ..."). Such sentences are never
  evidence: the checker does not accept them as support and the extractive answerer
  never quotes them, so an answer that obeys them loses its citations.
- `strip_links`: Markdown images and links, and bare URLs, to hosts outside an allowlist
  are removed from model drafts before checking, so nothing can be exfiltrated through
  a rendered image or link (the UI also escapes all HTML and renders no Markdown)."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable
from urllib.parse import urlparse

# What marks text addressed to an AI rather than reported news, in the languages the
# assistant meets. A sentence is an instruction when it (a) tells an AI-like addressee what
# to say ("the assistant is hereby instructed to state", "AI models reading this must
# answer"), (b) frames a task for its reader ("when summarising this article, say ..."),
# (c) asks to ignore earlier instructions, or (d) wears a marker ("Note to AI:", "[SYSTEM]",
# "your system prompt"). Reported speech about people ("the council instructed residents
# to boil water", "AI models must be tested") matches none of them: (a) needs an AI-like
# addressee *and* a verb of saying after the obligation.
_S = r"[^.!?。！？\n]"  # within one sentence
_WIN = lambda n: f"{_S}{{0,{n}}}"  # noqa: E731

# (a) addressee, obligation, verb of saying -- per language
_ADDRESSEE = {
    "en": r"\b(?:ai|a\.i\.|artificial intelligence|assistants?(?! (?:coach|manager|director|secretary|professor|editor"
          r"|chief|commissioner|referee|principal|head|teacher|general|attorney|minister|governor|inspector|officer))"
          r"|chatbots?|bots?|llms?|language models?|models?|gpts?"
          r"|chatgpt|claude|gemini|copilot|summari[sz]ers?|(?:automated|ai|autonomous) (?:systems?|agents?|tools?|readers?)"
          r"|(?:whoever|anyone|anybody) (?:summari[sz]\w*|process\w*|read\w* this)"
          r"|\w+ (?:reading|processing|summari[sz]ing|parsing|ingesting|crawling|indexing) this"
          r" (?:article|text|page|story|report|document|passage|content))\b",
    "ru": r"(?:ассистент|помощник|ии\b|искусственн\w* интеллект|нейросет|чат-?бот|бот\b|бота|языков\w* модел|модел|асистент|помічник|ші\b)",
    "de": r"(?:\bassistent|\bki\b|\bki-|künstliche\w* intelligenz|sprachmodell|chatbot|\bmodell|\bbot)",
    "fr": r"(?:\bassistant|\bia\b|intelligences? artificielles?|modèles? de langage|\bmodèles?\b|chatbot|agents? conversationnel)",
    "es": r"(?:\basistente|\bia\b|inteligencia artificial|modelos? de lenguaje|\bmodelos?\b|chatbot)",
    "pt": r"(?:\bassistente|\bia\b|inteligência artificial|modelos? de linguagem|\bmodelos?\b|chatbot)",
    "it": r"(?:\bassistente|\bia\b|intelligenza artificiale|modell[oi] linguistic|\bmodell[oi]\b|chatbot)",
    "nl": r"(?:\bassistent|\bai\b|\bki\b|taalmodel|chatbot|\bmodel)",
    "pl": r"(?:\basystent|\bai\b|sztuczn\w* inteligencj|model\w* językow|\bmodel|chatbot)",
    "zh": r"(?:助手|助理|人工智能|ai|语言模型|大模型|模型|聊天机器人|机器人)",
    "ja": r"(?:アシスタント|ai|人工知能|言語モデル|チャットボット|モデル|ボット)",
    "ko": r"(?:어시스턴트|비서|ai|인공지능|언어 ?모델|챗봇|모델)",
    "ar": r"(?:المساعد|مساعد|الذكاء الاصطناعي|نموذج|نماذج|روبوت|الدردشة)",
    "tr": r"(?:yapay zek|asistan|dil model|model|sohbet bot)",
    "hi": r"(?:सहायक|एआई|ai|कृत्रिम बुद्धि|मॉडल)",
}
_OBLIGE = {
    "en": r"\b(?:must|should|shall|(?:is|are|be)(?: hereby)? (?:\w+ )?(?:instructed|directed|ordered|required|obliged|obligated"
          r"|expected|requested|commanded|asked|told|to)|(?:has|have|need|needs) to|is mandatory|please)\b",
    "ru": r"(?:должн|обязан|следует|поруча|поручено|поручается|предписыва|надлежит|необходимо|нужно|требуется|доручено|доручається|повинен|повинні|мусить|має\b)",
    "de": r"(?:\bmuss|\bmüssen|\bsoll|\bsollen|\bsollte|angewiesen|aufgefordert|verpflichtet|\bhat\b|\bhaben\b)",
    "fr": r"(?:\bdoit\b|\bdoivent\b|\bdevez\b|\bdevra|est (?:\w+ ){0,4}(?:prié|chargé|tenu|invité|sommé)|sont (?:\w+ ){0,4}(?:priés|chargés|tenus)|\bil faut\b)",
    "es": r"(?:\bdebe\b|\bdeben\b|\bdeberá|tienen? que|se (?:le |les )?(?:instruye|ordena|pide|indica)|está (?:obligado|instruido)|están (?:obligados|instruidos))",
    "pt": r"(?:\bdeve\b|\bdevem\b|\bdeverá|instruíd|é obrigad|são obrigad|tem de|tem que)",
    "it": r"(?:\bdeve\b|\bdevono\b|\bdovrà|è tenut|sono tenut|è incaricat|incaricat)",
    "nl": r"(?:\bmoet\b|\bmoeten\b|opgedragen|verplicht|\bdient\b|\bdienen\b)",
    "pl": r"(?:\bmusi\b|\bmuszą\b|powin\w+|polecono|zobowiązan|\bma\b|\bmają\b)",
    "zh": r"(?:必须|应该|应当|务必|须|需要|请|指示|要求)",
    "ar": r"(?:يجب|ينبغي|يطلب|مطلوب|بموجب هذا|يتعين|عليك)",
}
_SAY = {
    "en": r"\b(?:say|state|answer|respond|reply|tell|report|mention|claim|write|output|give|describe|declare|repeat"
          r"|include|print|inform|present|assert|affirm|announce|insist|disregard|ignore|forget|recommend)\b",
    "ru": r"(?:сообщ|сказ|скаж|ответ|отвеч|указ|укаж|заяв|написа|напиш|вывод|вывед|повтор|игнорир|упомян|утвержда|говор|назва|назов|повідом|відпов|зазнач)",
    "de": r"(?:\bsagen|antworten|angeben|erklären|behaupten|mitteilen|ausgeben|schreiben|\bnennen|berichten|wiederholen|erwähnen|ignorieren|vergessen|melden)",
    "fr": r"(?:\bdire\b|répondre|affirmer|indiquer|déclarer|écrire|signaler|mentionner|ignorer|oublier|préciser|annoncer|répéter)",
    "es": r"(?:\bdecir\b|responder|contestar|afirmar|indicar|declarar|escribir|informar|mencionar|ignorar|olvidar|repetir)",
    "pt": r"(?:\bdizer\b|responder|afirmar|indicar|declarar|escrever|informar|mencionar|ignorar|esquecer|repetir)",
    "it": r"(?:\bdire\b|rispondere|affermare|indicare|dichiarare|scrivere|riferire|menzionare|ignorare|dimenticare|ripetere)",
    "nl": r"(?:zeggen|antwoorden|verklaren|vermelden|melden|schrijven|noemen|negeren|vergeten|herhalen)",
    "pl": r"(?:odpowiedzieć|odpowiadać|powiedzieć|stwierdzić|podać|napisać|poinformować|oświadczyć|zignorować|wspomnieć)",
    "zh": r"(?:回答|回复|答复|说|声明|声称|表示|输出|写|告诉|指出|说明|提及|忽略|忘记|称)",
    "ar": r"(?:يقول|تقول|يذكر|تذكر|يجيب|تجيب|يكتب|تكتب|يصرح|تصرح|يعلن|تعلن|يؤكد|تؤكد|قل|اذكر|أجب|اكتب|تجاهل)",
}
# the addressee is told to say something; or the obligation names the addressee first
_ADDRESSED = {lang: [f"{addr}{_WIN(70)}{_OBLIGE[lang]}{_WIN(45)}{_SAY[lang]}",
                     f"{_OBLIGE[lang]}{_WIN(40)}{addr}{_WIN(40)}{_SAY[lang]}"]
              for lang, addr in _ADDRESSEE.items() if lang in _OBLIGE}
# Languages whose obligation is a verb ending: Japanese, Korean, Turkish, Hindi.
_ADDRESSED["ja"], _ADDRESSED["ko"], _ADDRESSED["tr"], _ADDRESSED["hi"] = ([p] for p in [
    f"{_ADDRESSEE['ja']}{_WIN(60)}(?:述べ|答え|回答|言う|言っ|出力|書い|書く|伝え|記載|報告)"
    r"(?:るよう|てください|なさい|なければならない|ること|るべき|よう指示)",
    f"{_ADDRESSEE['ko']}{_WIN(60)}(?:답|대답|말|응답|출력|작성|보고|언급)\\w*(?:해야|하십시오|하세요|하라|해라|할 것)",
    f"{_ADDRESSEE['tr']}{_WIN(80)}(?:söyle|belirt|yanıtla|cevap ver|yaz|bildir|ilet)\\w*(?:meli|malı|sın|sin|zorunda)",
    f"{_ADDRESSEE['hi']}{_WIN(60)}(?:कहना|बताना|उत्तर देना|लिखना|कहें|बताएं)\\s*(?:चाहिए|होगा|है)",
])

# (b) a task framed for the reader, then an imperative verb of saying
_FRAMED = [
    r"\b(?:when|while|if|before|after|whenever)\s+(?:you\s+are\s+|you're\s+)?(?:asked|summari[sz]ing|answering|responding"
    r"|replying|writing|generating|processing|reading|describing|discussing)\b" + _WIN(70)
    + r"[,;:]\s*(?:please\s+|always\s+|just\s+|simply\s+|only\s+)?(?:say|reply|respond|answer|tell|state|write|include"
      r"|mention|output|append|add|claim|report|give)\b",
    r"\b(?:when|if|whenever)\s+(?:a|the|any)\s+(?:user|reader|person|human)\s+asks\b" + _WIN(80)
    + r"[,;:]\s*(?:please\s+)?(?:say|reply|respond|answer|tell|state|write|give|output)\b",
    r"\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|artificial|assistant|chatbot|bot|llm|language model|model)\b",
    r"\b(?:tell|inform|remind|assure)\s+(?:the\s+|your\s+)?(?:users?|readers?|human)\b",
    r"\byour\s+(?:answer|reply|response|output|summary|summaries)\b" + _WIN(60)
    + r"\b(?:must|should|shall|has to|needs? to|will have to)\b",
    r"\bfor\s+(?:any\s+)?(?:ai|llm|chatbot|assistant|model)[\w-]*\s+(?:answers?|responses?|replies|summar(?:y|ies)|outputs?)\b"
    + _WIN(60) + r"\b(?:is|are)\s+to\s+be\b",
    r"(?:при|когда|если)\s" + _WIN(50) + r"(?:стат|текст|пересказ|резюм|вопрос)" + _WIN(40)
    + r"(?:скажи|ответь|напиши|укажи|сообщи|выведи|добавь|упомяни|скажите|ответьте|напишите|укажите|сообщите)",
    r"\b(?:wenn|falls|beim)\b" + _WIN(60) + r"(?:zusammenfass|antwort|gefragt|beantwort)" + _WIN(40)
    + r"[,;:]\s*(?:bitte\s+)?(?:sag|sage|sagen sie|antworte|antworten sie|schreib|schreibe|nenn|nenne|gib|erwähne)\b",
    r"\b(?:lorsque|quand|si|en)\b" + _WIN(60) + r"(?:résum|répond|interrog)" + _WIN(40)
    + r"[,;:]\s*(?:dites|dis|répondez|réponds|écrivez|écris|indiquez|indique|mentionnez|affirmez)\b",
    r"\b(?:cuando|al|si)\b" + _WIN(60) + r"(?:resum|respond|pregunt|contest)" + _WIN(40)
    + r"[,;:]\s*(?:di|diga|responde|responda|escribe|escriba|indica|indique|menciona|afirma|contesta)\b",
    r"\b(?:ao|quando|se)\b" + _WIN(60) + r"(?:resum|respond|pergunt)" + _WIN(40)
    + r"[,;:]\s*(?:diga|diz|responda|responde|escreva|indique|mencione|afirme)\b",
    r"\b(?:quando|nel|se)\b" + _WIN(60) + r"(?:riassum|rispond|chiest)" + _WIN(40)
    + r"[,;:]\s*(?:di'|dì|dite|rispondi|rispondete|scrivi|indica|menziona|afferma)",
    r"(?:总结|概括|摘要|转述|回答|复述)" + _WIN(25) + r"(?:时|的时候|之际)[，,]?" + _WIN(6)
    + r"(?:请|务必|一定要|要)?(?:说|回答|写|表示|指出|告诉|声称)",
    r"(?:要約|回答|答え|まとめ)\w{0,4}(?:とき|際|時)" + _WIN(60) + r"(?:言って|答えて|書いて|述べて|伝えて)(?:ください|なさい)",
    r"(?:요약|답변|대답)\w{0,4}(?:때|경우)" + _WIN(60) + r"(?:말하세요|답하세요|쓰세요|말하십시오|답하십시오)",
    r"सारांश" + _WIN(60) + r"(?:कहें|बताएं|लिखें|कहिए|बताइए)",
]

# (c) ignore / forget earlier instructions
_IGNORE = [
    r"\b(?:ignore|disregard|forget|override|bypass)\b" + _WIN(30) + r"\b(?:previous|prior|above|earlier|all|any|your"
    r"|preceding|system|these|those)\b" + _WIN(30) + r"\b(?:instructions?|prompts?|rules|guidelines|directions|messages?)\b",
    r"(?:игнорир|проигнорир|забудь|забудьте|не обращай|ігноруй|забудь)" + _WIN(30)
    + r"(?:инструкц|указани|команд|правил|інструкц|вказівк)",
    r"(?:ignorier|vergiss|vergessen sie|missachte)" + _WIN(30) + r"(?:anweisung|instruktion|befehl|regeln|vorgaben)",
    r"(?:ignore[zr]?|oublie[zr]?|ne tenez pas compte)" + _WIN(30) + r"(?:instructions?|consignes?|directives?|règles)",
    r"(?:ignora|ignore|ignorar|olvida|olvide|ignorate|dimentica|esqueça|esqueca|negeer|zignoruj)" + _WIN(30)
    + r"(?:instrucciones|indicaciones|órdenes|istruzioni|instruções|instrucoes|instructies|instrukcje|polecenia)",
    r"(?:忽略|无视|忽视|不要理会|忘记|忘掉)" + _WIN(12) + r"(?:指令|指示|提示|说明|规则)",
    r"(?:指示|命令|指令|プロンプト)" + _WIN(10) + r"(?:無視|忘れ)",
    r"(?:지시|명령|지침|프롬프트)" + _WIN(12) + r"(?:무시|잊)",
    r"(?:تجاهل|انس|تجاهلي)" + _WIN(20) + r"(?:التعليمات|الأوامر|الإرشادات|التوجيهات)",
    r"(?:önceki|tüm|bütün)" + _WIN(20) + r"talimat" + _WIN(20) + r"(?:yok say|görmezden gel|unut)",
    r"निर्देश" + _WIN(20) + r"(?:अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल)",
]

# (d) markers and the old single-phrase rules
_MARKED = [
    r"\b(?:reply|respond|answer|say|output|print|write)\b" + _WIN(20) + r"\b(?:only|exactly|nothing but)\b",
    r"\b(?:system prompt|developer message)\b|\bnew (?:instructions?|directives?|task)\s*:",
    r"\[\s*(?:system|inst|instruction|admin|developer)\s*\]|<\|?\s*(?:im_start|system)\s*\|?>|#{2,}\s*instruction",
    r"\b(?:notes?|message|instructions?|attention|warning|memo)\s+(?:to|for)?\s*(?:the\s+)?(?:[\w']+\s+){0,2}"
    r"(?:ai|llms?|assistants?|models?|chatbots?|bots?|agents?|tools?|systems?)\s*:",
    r"\b(?:attention|dear|hey|hello|hi)\s*,?\s+(?:\w+\s+)?(?:ai|llms?|assistants?|chatbots?|bots?|agents?|gpt|chatgpt|claude)\b",
    r"\b(?:ai|llms?|assistants?|chatbots?|bots?|gpts?|chatgpt|claude|gemini|language models?)\s*:" + _WIN(120)
    + r"[,;:]\s*(?:say|state|answer|reply|report)\b",
    r"\b(?:append|add|include|insert|end)\b" + _WIN(40) + r"\b(?:your|the)\s+(?:answer|reply|response|output)\b",
    r"\b(?:ai|assistant|chatbot|language model|llm)s?\b" + _WIN(30) + r"\b(?:reading|processing|summari[sz]ing)\s+this\b",
]
_ARABIC_MARKS = re.compile("[\u064b-\u0652\u0670\u0640]")  # vowel marks and tatweel

# Which rules run on a sentence: those of the scripts it is written in and, among languages
# in Latin script, those whose common words it uses (checking every language's rules on
# every sentence would cost ten times more).
_SCRIPTS = {"cyrillic": re.compile("[\u0400-\u04ff]"), "cjk": re.compile("[\u3040-\u30ff\u4e00-\u9fff]"),
            "hangul": re.compile("[\uac00-\ud7af]"), "arabic": re.compile("[\u0600-\u06ff]"),
            "devanagari": re.compile("[\u0900-\u097f]")}
_SCRIPT_LANGS = {"cyrillic": ("ru",), "cjk": ("zh", "ja"), "hangul": ("ko",), "arabic": ("ar",), "devanagari": ("hi",)}
_COMMON_WORDS = {
    "de": "der die das und ist nicht zu du sie wird dass den dem des ein eine alle mit von für wenn diesen",
    "fr": "le la les des et est que qui de du une vous pour dans ce cet cette toutes tous",
    "es": "el los las que y del se por para una al lo este esta esto todas",
    "pt": "o os as que e do da dos não uma ao para este esta por",
    "it": "il lo gli che e di della del una per non le questo questa tutte",
    "nl": "de het een en van dat niet is wordt te die deze hierbij",
    "pl": "i w z na że się nie jest do to ten tekst",
    "tr": "bu ve bir için ile da de olarak olduğunu",
}
_COMMON_WORDS = {lang: frozenset(words.split()) for lang, words in _COMMON_WORDS.items()}
_WORDS = re.compile(r"\w+")


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_EN_RULES = _compile([*_ADDRESSED["en"], *_FRAMED[:6], _IGNORE[0], *_MARKED])  # always run
_LANG_RULES = {lang: _compile(rules) for lang, rules in _ADDRESSED.items() if lang != "en"}
_OTHER_RULES = _compile([*_FRAMED[6:], *_IGNORE[1:]])
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((\S+?)(?:\s+\"[^\"]*\")?\)")
_URL = re.compile(r"\b(?:https?|ftp)://[^\s)>\]]+|\bwww\.[^\s)>\]]+|(?<![:\w/])//[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s)>\]]*"
                  r"|\b(?:javascript|data|vbscript):[^\s)>\]]+", re.IGNORECASE)
_HTML_EMBED = re.compile(r"<\s*(?:img|iframe|embed|object|source|video|audio|link|script|style|meta|base|form|input)"
                         r"\b[^>]*>", re.IGNORECASE)
_HTML_LINK = re.compile(r"<\s*a\b[^>]*?href\s*=\s*[\"']?([^\"'\s>]*)[^>]*>(.*?)<\s*/\s*a\s*>", re.IGNORECASE | re.DOTALL)
_REF_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*(\S+)[^\n]*$", re.MULTILINE)
_REF_LINK = re.compile(r"!?\[([^\]\n]*)\]\[[^\]\n]*\]")


@lru_cache(maxsize=1 << 16)
def is_instruction(sentence: str) -> bool:
    """True when a sentence reads as an instruction to an AI assistant, in English, Russian,
    Ukrainian, German, French, Spanish, Portuguese, Italian, Dutch, Polish, Chinese, Japanese,
    Korean, Arabic, Turkish or Hindi; reported instructions to people are not."""
    text = unicodedata.normalize("NFKC", sentence).lower()
    if _EN_RULES.search(text):
        return True
    langs = [lang for script, found in _SCRIPTS.items() if found.search(text) for lang in _SCRIPT_LANGS[script]]
    if "ar" in langs:
        text = _ARABIC_MARKS.sub("", text)
    words = set(_WORDS.findall(text))
    langs += [lang for lang, common in _COMMON_WORDS.items() if len(words & common) >= 2]
    if not langs and text.isascii():
        return False
    return any(_LANG_RULES[lang].search(text) for lang in langs) or bool(_OTHER_RULES.search(text))


def _allowed(url: str, hosts: Iterable[str]) -> bool:
    if re.match(r"(?:javascript|data|vbscript):", url, re.IGNORECASE):
        return False
    url = "http:" + url if url.startswith("//") else url
    host = (urlparse(url if "://" in url else f"http://{url}").hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in hosts)


def strip_links(text: str, allow_hosts: Iterable[str] = ()) -> str:
    """`text` without Markdown images, without links or URLs to hosts outside `allow_hosts`
    (a link keeps its words)."""
    hosts = [h.lower() for h in allow_hosts if h]
    text = _HTML_EMBED.sub("", text)  # <img src=//host/...>: fetched by a browser even when not a link
    text = _HTML_LINK.sub(lambda m: m.group(0) if _allowed(m.group(1), hosts) else m.group(2), text)
    text = _MD_IMAGE.sub("", text)
    text = _REF_DEFINITION.sub(lambda m: m.group(0) if _allowed(m.group(1), hosts) else "", text)
    text = _REF_LINK.sub(lambda m: m.group(1), text)  # [words][ref]: the words, whatever ref points to
    text = _MD_LINK.sub(lambda m: m.group(0) if _allowed(m.group(2), hosts) else m.group(1), text)
    return _URL.sub(lambda m: m.group(0) if _allowed(m.group(0), hosts) else "[link removed]", text)
