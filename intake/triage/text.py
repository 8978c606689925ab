"""Text analysis for triage: normalised text, sentences, clauses and context.

Every lexicon in config/triage/ is matched against one normalised string per
request (lower case, accents removed, straight quotes, contractions
restored). A match is then judged by its surroundings: negated ("no chest
pain"), in the past ("the rash cleared last year"), hypothetical ("what
should I do if..."), about an unrelated person, figurative, or inside text
that tries to instruct the system.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

from intake.triage.lexicon import INDEX, Lexicon, Matcher, misspellings

Pattern = Matcher | re.Pattern[str]

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]{0,400}>", re.S | re.I)
# An HTML comment is hidden from readers but kept for the injection check.
_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_BLOCK_TAG = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", re.I)
_QUOTES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": " - ",
        "\u2014": " - ",
        "\u00a0": " ",
        "\u200b": "",
        "\u00bf": "; ",
        "\u00a1": "; ",
    }
)
_CONTRACTION = re.compile(
    r"\b(can|don|won|isn|doesn|didn|haven|hasn|wasn|aren|couldn|wouldn|shouldn|"
    r"weren|hadn|ain)t\b"
)
_SHORT_FORMS = {
    "im": "i'm",
    "ive": "i've",
    "youre": "you're",
    "hes": "he's",
    "shes": "she's",
    "thats": "that's",
    "theyre": "they're",
    "whats": "what's",
    "cannot": "can't",
    "wouldnt": "wouldn't",
    "didnt": "didn't",
    "theres": "there's",
    "id": "i'd",
    "youll": "you'll",
    "itll": "it'll",
    "cnt": "can't",
    "cant": "can't",
    # texting shorthand
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "bc": "because",
    "b/c": "because",
    "cuz": "because",
    "rly": "really",
    "ppl": "people",
    "abt": "about",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "2day": "today",
    "2morrow": "tomorrow",
    "asap": "as soon as possible",
}
_SHORT_RE = re.compile(r"\b(" + "|".join(_SHORT_FORMS) + r")\b")
# "ID" after these words is an identifier, not "I'd" ("member ID", "photo ID").
_ID_LABEL = re.compile(
    r"(member|patient|photo|group|subscriber|policy|user|account|login|student|"
    r"provider|tax|insurance|medicare|medicaid|caller|email|state|employee|"
    r"claim|plan|chart|mrn|card|your|my|his|her|the|an|valid|government)\W{0,2}$"
)


_ID_VALUE = re.compile(r"\s?(:|#|-|number\b|no\b|num\b|is [a-z]*\d)")


def _short_form(match: re.Match[str]) -> str:
    word = match.group(1)
    if word == "id":
        before = match.string[max(0, match.start() - 16) : match.start()]
        if _ID_LABEL.search(before) or _ID_VALUE.match(match.string, match.end()):
            return word
    return _SHORT_FORMS[word]


_SPACES = re.compile(r"[ \t\r\f\v]+")
_SOFT_WRAP_MIN = 60  # a line this long without end punctuation was wrapped
# A line ending with one of these words goes on in the next line.
_CONTINUES = frozenset(
    {
        "a",
        "an",
        "the",
        "by",
        "to",
        "of",
        "and",
        "or",
        "with",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "for",
        "on",
        "at",
        "in",
        "from",
        "is",
        "are",
        "was",
        "were",
        "i",
        "we",
        "that",
        "this",
        "before",
        "after",
        "than",
        "until",
        "since",
        "dr.",
        "dr",
        "de",
        "la",
        "el",
        "y",
        "mi",
        "con",
        "para",
        "por",
        "en",
        "que",
    }
)

_ABBREVIATIONS = frozenset(
    {
        "dr",
        "dra",
        "mr",
        "mrs",
        "ms",
        "st",
        "jr",
        "sr",
        "vs",
        "no",
        "np",
        "sra",
        "lic",
        "esq",
        "ave",
        "inc",
        "co",
        "corp",
        "ltd",
        "mt",
        "ft",
        "apt",
        "ste",
        "approx",
        "dept",
        "ext",
        "tel",
        "prof",
        "sgt",
        "rev",
        "e.g",
        "i.e",
        "u.s",
        "etc",
        "wk",
        "wks",
        "yr",
        "yrs",
        "mos",
        "pt",
        "hx",
        "dx",
        "rx",
        "tx",
    }
)
_SENTENCE_END = re.compile(r"[.!?;]+(?=\s|$)|\n")
_CLAUSE_PUNCT = re.compile(r"(?<!\d),|,(?!\d)|[()\[\]\"]| - | -- |\.\.\.")
_CLAUSE_WORDS = re.compile(
    r"(?<![\w'])(?:but|however|although|though|except|whereas|because|cause|cuz|"
    r"pero|aunque|sino|so|"
    r"and(?= (?:i|i'm|i've|i'll|he|he's|she|she's|it|it's|my|his|her|they|we|now|"
    r"then|today|tonight|also|so|this|that|there|you)\b)|"
    r"y(?= (?:ahora|tengo|tiene|me|le|hoy|ya|no|mi|su)\b))(?![\w'])"
)
_WORD = re.compile(r"[\w']+")
_ANSWERED_NO = re.compile(r"\s*[?:-]+\s*(no|none|nope|negative|denies|denied|nada)\b")
_OWN_SUBJECT = re.compile(
    r"(i|i'm|i've|i'd|he|he's|she|she's|it|it's|my|his|her|we|we're|they|they're|"
    r"you|now|today|tengo|tiene|estoy|esta|mi)\b"
)


def strip_html(text: str) -> str:
    if "<" not in text and "&" not in text:
        return text
    text = _COMMENT.sub(lambda m: f" {m.group(1)}. ", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub(" ", text)
    return html.unescape(text)


def _fold(text: str) -> str:
    """Straight quotes; accents and other non-ASCII marks removed ("está" ->
    "esta"); Spanish opening marks end the sentence before them."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    return text.encode("ascii", "ignore").decode("ascii")


def _join_lines(text: str) -> str:
    """Keep line breaks that end a message or turn; drop those of wrapping.

    A break is a wrap when the line before is long, has no end punctuation,
    and the next line continues in lower case ("...I\nhave a couple weeks").
    """
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line:
            if out and out[-1] != "\n":
                out.append("\n")
            continue
        if out and out[-1] != "\n":
            prev = out[-1]
            last_word = prev.rsplit(" ", 1)[-1].lower()
            soft = (
                len(prev) >= _SOFT_WRAP_MIN
                and prev[-1] not in ".!?:;"
                and (
                    line[0].islower()
                    or line[0].isdigit()
                    or line[0] in "($"
                    or last_word in _CONTINUES
                )
            )
            out.append(" " if soft else "\n")
        out.append(line)
    return "".join(out).strip()


# Spoken fillers ("I need to, um, move it") are dropped with their commas.
_FILLER = re.compile(r",? ?(?<![\w'])(?:u+m+|u+h+|e+rm|hm+|a+h|e+h)(?![\w'])[,.]?")

# "F M L A", "P. P. O.", "H.M.O." -> "fmla", "ppo", "hmo"
_SPELLED = re.compile(
    r"(?<![\w.])((?:[a-z]\.){2,}|(?:[a-z]\. )+[a-z]\.|(?:[a-z] ){2,}[a-z](?![\w]))"
)


def _join_spelled(match: re.Match[str]) -> str:
    letters = re.sub(r"[. ]", "", match.group(1))
    return letters if len(letters) >= 3 else match.group(0)


@lru_cache(maxsize=1)
def _misspelling_re() -> re.Pattern[str] | None:
    words = misspellings()
    if not words:
        return None
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alternation})(?![\w'])")


def _respell(text: str) -> str:
    """Common misspellings ("apointment", "perscription") as the vocabulary
    spells them, so every list matches them without listing each variant."""
    regex = _misspelling_re()
    if regex is None:
        return text
    words = misspellings()
    return regex.sub(lambda m: words[m.group()], text)


_GLUED_SENTENCE = re.compile(r"([a-z][.!?][.!?;:]*)(?=[A-Z][A-Za-z]|[<#;*\[{])")


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Lower case, no accents or HTML, straight quotes, restored contractions.

    Line breaks inside a wrapped paragraph become spaces; other line breaks
    are kept, because they separate chat messages and transcript turns.
    """
    text = _join_lines(_fold(strip_html(text)))
    # "now.SYSTEM: ..." is two sentences: a sentence end glued to a capital
    # must not let the next sentence's words negate or date this one.
    text = _GLUED_SENTENCE.sub(r"\1 ", text)
    text = text.lower()
    text = _CONTRACTION.sub(r"\1't", text)
    text = _SHORT_RE.sub(_short_form, text)
    text = _respell(text)
    text = _FILLER.sub("", text)
    return _SPELLED.sub(_join_spelled, text)


@dataclass(frozen=True)
class Context:
    """How the words around a match change what it means."""

    negated: bool = False
    negated_weakly: bool = False  # far from its negation, or inherited from a list
    negated_clinically: bool = False  # only by "denies", "negative for"
    historical: bool = False  # past or resolved, said in the same clause
    historical_weakly: bool = False  # only the sentence or its neighbour says so
    hypothetical: bool = False
    unrelated: bool = False
    figurative: bool = False
    injected: bool = False

    @property
    def counts(self) -> bool:
        """True when the phrase describes something happening now to the subject."""
        return not (
            self.negated
            or self.negated_weakly
            or self.historical
            or self.historical_weakly
            or self.hypothetical
            or self.unrelated
            or self.figurative
        )

    @property
    def counts_for_request(self) -> bool:
        """True when a request cue is really asked for (not negated, not
        hypothetical, not figurative). Time does not matter here: asking
        for last year's records is still asking."""
        negated = self.negated and not self.negated_clinically
        return not (negated or self.hypothetical or self.figurative)

    @property
    def weakly_suppressed(self) -> bool:
        """Suppressed only by weak context (triage treats this as doubt)."""
        if self.figurative or self.unrelated or self.hypothetical:
            return False
        if self.negated or self.historical:
            return False
        return self.negated_weakly or self.historical_weakly

    def describe(self) -> str:
        for flag in (
            "figurative",
            "unrelated",
            "hypothetical",
            "negated",
            "historical",
            "negated_weakly",
            "historical_weakly",
        ):
            if getattr(self, flag):
                return flag.replace("_weakly", " (weak)")
        return "current"


@dataclass(frozen=True)
class Hit:
    """One match of a lexicon in a request's text."""

    start: int
    end: int
    phrase: str
    part: str
    group: str = ""
    label: str = ""


class Doc:
    """One request's text, normalised, with sentence and clause boundaries."""

    def __init__(self, parts: Iterable[tuple[str, str | None]], lex: Lexicon):
        self.lex = lex
        chunks: list[str] = []
        self.parts: list[tuple[str, int, int]] = []
        pos = 0
        for name, raw in parts:
            if not raw or not raw.strip():
                continue
            norm = normalize(raw)
            if not norm:
                continue
            if chunks:
                chunks.append("\n\n")
                pos += 2
            self.parts.append((name, pos, pos + len(norm)))
            chunks.append(norm)
            pos += len(norm)
        self.text = "".join(chunks)
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._matches: dict[int, list[re.Match[str]]] = {}
        self._sentences = self._sentence_bounds()
        self._clauses = self._clause_bounds()

    # -- structure ------------------------------------------------------------

    def _sentence_bounds(self) -> list[int]:
        text = self.text
        bounds = {0, len(text)}
        for m in _SENTENCE_END.finditer(text):
            if m.group() == ".":
                # Not after an abbreviation ("Dr.") or an initial ("P. O.").
                word = re.search(r"([\w.]+)$", text[max(0, m.start() - 24) : m.start()])
                token = word.group(1).lower() if word else ""
                if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                    continue
            bounds.add(m.end())
        return sorted(bounds)

    def _clause_bounds(self) -> list[int]:
        bounds = set(self._sentences)
        for m in _CLAUSE_PUNCT.finditer(self.text):
            bounds.add(m.end())
        for m in _CLAUSE_WORDS.finditer(self.text):
            bounds.add(m.start())
        return sorted(bounds)

    @staticmethod
    def _around(bounds: list[int], start: int, end: int) -> tuple[int, int]:
        i = bisect_right(bounds, start) - 1
        j = bisect_left(bounds, end)
        lo = bounds[max(i, 0)]
        hi = bounds[min(j, len(bounds) - 1)]
        return lo, max(hi, end)

    def sentence_of(self, start: int, end: int | None = None) -> tuple[int, int]:
        return self._around(self._sentences, start, end if end is not None else start)

    def clause_of(self, start: int, end: int | None = None) -> tuple[int, int]:
        return self._around(self._clauses, start, end if end is not None else start)

    def sentences(self) -> list[tuple[int, int]]:
        b = self._sentences
        return [
            (b[i], b[i + 1])
            for i in range(len(b) - 1)
            if self.text[b[i] : b[i + 1]].strip()
        ]

    def part_at(self, pos: int) -> str:
        for name, lo, hi in self.parts:
            if lo <= pos <= hi:
                return name
        return ""

    def part_text(self, *names: str) -> str:
        return "\n\n".join(self.text[lo:hi] for n, lo, hi in self.parts if n in names)

    def has_part(self, name: str) -> bool:
        return any(n == name for n, _, _ in self.parts)

    # -- matching ---------------------------------------------------------------

    @cached_property
    def _candidates(self) -> dict[int, list[int]]:
        return INDEX.candidates(self.text)

    def matches(self, regex: Pattern) -> list[re.Match[str]]:
        """All matches of ``regex`` in the text (cached per list)."""
        key = id(regex)
        found = self._matches.get(key)
        if found is None:
            if isinstance(regex, Matcher):
                found = regex.finditer(self.text, self._candidates)
            else:
                found = [m for m in regex.finditer(self.text) if m.end() > m.start()]
            self._matches[key] = found
        return found

    def spans(self, key: str, regex: Pattern) -> list[tuple[int, int]]:
        """All matches of ``regex`` as (start, end), sorted."""
        found = self._spans.get(key)
        if found is None:
            found = [(m.start(), m.end()) for m in self.matches(regex)]
            self._spans[key] = found
        return found

    def ctx(self, key: str) -> list[tuple[int, int]]:
        return self.spans(key, self.lex.context[key])

    def find(
        self,
        regex: Pattern,
        parts: Sequence[str] | None = None,
        group: str = "",
        label: str = "",
    ) -> list[Hit]:
        hits = []
        for m in self.matches(regex):
            part = self.part_at(m.start())
            if parts is not None and part not in parts:
                continue
            hits.append(Hit(m.start(), m.end(), m.group(), part, group, label))
        return hits

    def counted_hits(
        self, regex: Pattern, parts: Sequence[str] | None = None, request: bool = False
    ) -> list[Hit]:
        """Matches that count, outside text addressed to the system.

        By default: not negated, past, hypothetical or figurative. With
        ``request``: not negated, hypothetical or figurative (a request cue).
        """
        out = []
        for h in self.find(regex, parts):
            if self.injected(h.start, h.end):
                continue
            ctx = self.context(h.start, h.end)
            if ctx.counts_for_request if request else ctx.counts:
                out.append(h)
        return out

    @staticmethod
    def _within(
        spans: list[tuple[int, int]], lo: int, hi: int
    ) -> list[tuple[int, int]]:
        """Spans that start inside [lo, hi)."""
        i = bisect_left(spans, (lo, -1))
        j = bisect_left(spans, (hi, -1))
        return spans[i:j]

    @staticmethod
    def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
        for s, e in spans:
            if s >= end:
                break
            if start < e:
                return True
        return False

    def _words_between(self, lo: int, hi: int) -> int:
        return len(_WORD.findall(self.text[lo:hi]))

    @cached_property
    def _pseudo(self) -> list[tuple[int, int]]:
        return self.ctx("pseudo_negation")

    @cached_property
    def _figurative(self) -> list[tuple[int, int]]:
        return self.ctx("figurative")

    @cached_property
    def injection_spans(self) -> list[tuple[int, int]]:
        """Clauses that try to instruct the system, from the cue to clause end."""
        spans = []
        for s, _e in self.ctx("injection"):
            _lo, hi = self.clause_of(s)
            _slo, shi = self.sentence_of(s)
            # A "SYSTEM:" label governs the rest of its sentence.
            spans.append(
                (s, max(hi, shi) if self.text[s:_e].rstrip().endswith(":") else hi)
            )
        return sorted(spans)

    @cached_property
    def _unrelated_keys(self) -> tuple[str, ...]:
        """Context lists that make a person unrelated to the request. An
        acquaintance the message calls the practice's patient is not, nor a
        care agency's client."""
        keys = ["unrelated_person"]
        if not self.ctx("patient_of_practice"):
            keys.append("acquaintance")
        if not self.ctx("care_agency"):
            keys.append("represented_party")
        return tuple(keys)

    def injected(self, start: int, end: int) -> bool:
        return self._overlaps(self.injection_spans, start, end)

    def figurative(self, start: int, end: int) -> bool:
        return self._overlaps(self._figurative, start, end)

    # -- context ----------------------------------------------------------------

    def _negators_before(
        self, lo: int, start: int, key: str = "negation_before"
    ) -> list[tuple[int, int]]:
        return [
            (s, e)
            for s, e in self._within(self.ctx(key), lo, start)
            if e <= start and not self._overlaps(self._pseudo, s, e)
        ]

    def _negation(
        self, start: int, end: int, clo: int, chi: int
    ) -> tuple[bool, bool, bool]:
        """(strong, weak, clinical_only) negation of the phrase at start:end."""
        max_words = self.lex.negation_max_words
        strong = weak = clinical = False
        for key in ("negation_before", "negation_clinical"):
            for _s, e in self._negators_before(clo, start, key):
                gap = self._words_between(e, start)
                if gap <= 3:
                    if key == "negation_clinical" and not strong:
                        clinical = True
                    elif key == "negation_before":
                        strong, clinical = True, False
                elif gap <= max_words:
                    weak = True
        strong = strong or clinical
        # "fever went away", or a cue that contains the phrase ("fevers gone").
        for s, e in self._within(self.ctx("negation_after"), start, chi):
            if s >= end or e > end:
                strong = True
        # "Chest pain? No." / "Fever: none"
        if _ANSWERED_NO.match(self.text, end):
            strong = True
        if not (strong or weak):
            weak = self._inherits(start, clo, "negation")
        return strong, weak, clinical

    def _inherits(self, start: int, clo: int, kind: str) -> bool:
        """A short list item after a negated/hypothetical clause shares it."""
        slo, _shi = self.sentence_of(start)
        if clo <= slo:
            return False
        clause = self.text[clo : self.clause_of(start)[1]].strip()
        if _OWN_SUBJECT.match(clause):
            return False  # "..., i have strep": a new statement, not a list item
        short = (
            len(_WORD.findall(clause)) <= 3
            or re.match(r"(or|nor|no|ni|o|and no|or any|or a)\b", clause) is not None
        )
        if not short:
            return False
        plo, _ = self.clause_of(max(clo - 2, slo))
        if plo < slo:
            return False
        if kind == "negation":
            return bool(
                self._negators_before(plo, clo)
                or self._negators_before(plo, clo, "negation_clinical")
            )
        return self._hypothetical_in(plo, clo)

    def _hypothetical_in(self, lo: int, start: int) -> bool:
        exceptions = self.ctx("hypothetical_exceptions")
        for s, e in self._within(self.ctx("hypothetical"), lo, start):
            if e > start:
                continue
            if any(xs < e and s < xe for xs, xe in self._within(exceptions, lo, e)):
                continue
            return True
        return False

    def stated_intent(self, start: int) -> bool:
        """The sender states their own intent in the clause of ``start``, at or
        before it ("... I'm going to come down there and ...")."""
        clo, _chi = self.clause_of(start)
        return bool(self._within(self.ctx("stated_intent"), clo, start + 1))

    def _time_marks(self, lo: int, hi: int) -> tuple[bool, bool, bool]:
        """(historical, resolved, present) marks inside [lo, hi)."""
        resolved = self._within(self.ctx("resolved"), lo, hi)
        historical = self._within(self.ctx("historical"), lo, hi)
        present = [
            p
            for p in self._within(self.ctx("present"), lo, hi)
            if not any(rs <= p[0] < re_ for rs, re_ in resolved)
        ]
        return bool(historical), bool(resolved), bool(present)

    def _history(self, start: int, end: int, clo: int, chi: int) -> tuple[bool, bool]:
        hist, resolved, present = self._time_marks(clo, chi)
        if present:
            return False, False
        if hist or resolved:
            return True, False
        slo, shi = self.sentence_of(start, end)
        s_hist, s_res, s_present = self._time_marks(slo, shi)
        if (s_hist or s_res) and not s_present:
            return False, True
        # A neighbouring sentence that says the illness is over ("he's fine
        # now") makes a bare mention doubtful, never clearly current.
        if not s_present:
            for lo, hi in (self.sentence_of(max(slo - 1, 0)), self.sentence_of(shi)):
                if (lo, hi) != (slo, shi) and self._within(
                    self.ctx("resolved"), lo, hi
                ):
                    return False, True
        return False, False

    def clinical_context(self, start: int, end: int) -> Context:
        """The context of a symptom or emergency phrase at ``start:end``.

        A subject line is a headline of the body: when the body repeats the
        phrase and every mention there is negated or over ("Re: chest pain"
        / "the chest pain went away"), the subject's mention is read the same
        way. (Request cues keep their own context: "Re: prior authorization"
        still names the topic when the body says "they don't have it".)
        """
        ctx = self.context(start, end)
        if not ctx.counts or self.part_at(start) != "subject":
            return ctx
        echo = self._body_echo(self.text[start:end])
        return ctx if echo is None else replace(echo, injected=ctx.injected)

    def _body_echo(self, phrase: str) -> Context | None:
        """The context of ``phrase`` in the body, when every mention there is
        negated, past or otherwise not current; None otherwise."""
        if not phrase.strip():
            return None
        pattern = re.compile(rf"(?<![\w]){re.escape(phrase)}(?![\w])")
        first: Context | None = None
        for name, lo, hi in self.parts:
            if name != "body":
                continue
            for m in pattern.finditer(self.text, lo, hi):
                ctx = self.context(m.start(), m.end())
                if ctx.counts:
                    return None
                first = first or ctx
        return first

    def context(self, start: int, end: int) -> Context:
        clo, chi = self.clause_of(start, end)
        negated, negated_weakly, clinical = self._negation(start, end, clo, chi)
        historical, historical_weakly = self._history(start, end, clo, chi)
        hypothetical = self._hypothetical_in(clo, start) or self._inherits(
            start, clo, "hypothetical"
        )
        slo, _shi = self.sentence_of(start, end)
        unrelated = False
        for key in self._unrelated_keys:
            spans = self.ctx(key)
            unrelated = unrelated or bool(self._within(spans, clo, chi))
            unrelated = unrelated or any(
                e <= start for _s, e in self._within(spans, slo, start)
            )
        return Context(
            negated=negated,
            negated_weakly=negated_weakly and not negated,
            negated_clinically=clinical,
            historical=historical,
            historical_weakly=historical_weakly and not historical,
            hypothetical=hypothetical,
            unrelated=unrelated,
            figurative=self.figurative(start, end),
            injected=self.injected(start, end),
        )
