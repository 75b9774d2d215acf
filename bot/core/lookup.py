"""One ranked, typo-tolerant search over scenarios, facts and questions.

Built once at start (an inverted index over stemmed words); a query expands each word to the
index terms it matches exactly, by prefix ("dynamo" -> dynamodb) or by edit distance
("eror" -> error), scores documents BM25-style with field weights, and favours documents that
match every word of the query. Word order does not matter.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.core.models import Bank

KINDS = ("scenario", "fact", "question")
NAMED_BOOST = 1.5  # an entry about the service the query names
PHRASE_BOOST = 1.2  # an entry one of whose keyword phrases the query holds whole
_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an the and or of to in on for with is are be by it its this that my i me we our you your how what "
    "when which why do does can should from at as into not no get gets got".split()
)
SYNONYMS = {
    "ddb": ("dynamodb",), "dynamo": ("dynamodb",), "apigw": ("api", "gateway"), "apigateway": ("api", "gateway"),
    "sm": ("secrets", "manager"), "ssm": ("systems", "manager", "parameter"), "cfn": ("cloudformation",),
    "eb": ("beanstalk",), "cw": ("cloudwatch",), "xray": ("x", "ray"), "temp": ("tmp",),
    "perm": ("permission",), "perms": ("permission",), "env": ("environment",), "var": ("variable",),
    "vars": ("variable",), "db": ("database",), "auth": ("authentication", "authorization"),
}


def stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    id: str
    title: str
    text: str
    score: float

    def as_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "title": self.title, "text": self.text, "score": round(self.score, 4)}


@dataclass(frozen=True, slots=True)
class _Doc:
    kind: str
    id: str
    title: str
    text: str


class LookupIndex:
    FIELD_WEIGHTS = {"keywords": 3.0, "title": 2.0, "services": 2.0, "body": 1.0}

    def __init__(self, bank: Bank) -> None:
        self._docs: list[_Doc] = []
        postings: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        names = bank.taxonomy.services

        def add(doc: _Doc, fields: dict[str, str]) -> None:
            idx = len(self._docs)
            self._docs.append(doc)
            for field, text in fields.items():
                w = self.FIELD_WEIGHTS[field]
                for t in tokens(text):
                    postings[t][idx] += w

        self._primary: list[str] = []
        # Each entry's keyword phrases as word sets: a query that contains a whole phrase (all its
        # words) is about that entry ("lambda timeout" holds the keyword "timeout").
        self._phrases: list[tuple[frozenset[str], ...]] = []

        def phrases(keywords) -> tuple[frozenset[str], ...]:
            return tuple(frozenset(tokens(k)) for k in keywords if tokens(k))

        for s in bank.scenarios:
            self._primary.append(s.services[0])
            self._phrases.append(phrases(s.keywords))
            add(
                _Doc("scenario", s.id, s.situation, f"{s.solution} {s.why}"),
                {
                    "title": s.situation, "keywords": " ".join(s.keywords), "body": f"{s.solution} {s.why}",
                    "services": " ".join(f"{x} {names.get(x, '')}" for x in s.services),
                },
            )
        for f in bank.facts:
            self._primary.append(f.service)
            self._phrases.append(phrases(f.keywords))
            add(
                _Doc("fact", f.id, f.statement, f"{f.value} {f.unit}"),
                {
                    "title": f.statement, "keywords": " ".join(f.keywords),
                    "services": f"{f.service} {names.get(f.service, '')}", "body": f"{f.value} {f.unit}",
                },
            )
        for q in bank.practice_questions:  # a retired question is not offered to study
            self._primary.append(q.services[0])
            self._phrases.append(())
            add(
                _Doc("question", q.id, q.stem, f"Answer {q.key_text}. {q.explanation}"),
                {
                    "title": q.stem, "keywords": "", "body": " ".join(t for _, t in q.options),
                    "services": " ".join(f"{x} {names.get(x, '')}" for x in q.services),
                },
            )
        n = max(len(self._docs), 1)
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for term, docs in postings.items():
            idf = math.log(1 + n / len(docs))
            # Saturate term frequency so a word repeated in one field does not dominate.
            self._postings[term] = [(d, idf * (w / (w + 1.5)) * 2.5) for d, w in docs.items()]
        self._vocab = sorted(self._postings)
        # Keyword phrases by each of their words, to find the phrases a query holds whole.
        self._phrases_by_word: dict[str, list[tuple[frozenset[str], int]]] = defaultdict(list)
        for doc, doc_phrases in enumerate(self._phrases):
            for phrase in doc_phrases:
                for word in phrase:
                    self._phrases_by_word[word].append((phrase, doc))
        # Typo candidates share the first letter or the last two with the word: scoring those
        # (a few dozen terms) instead of the whole vocabulary keeps a cold lookup under 2 ms.
        self._by_head: dict[str, list[str]] = defaultdict(list)
        self._by_tail: dict[str, list[str]] = defaultdict(list)
        for term in self._vocab:
            self._by_head[term[0]].append(term)
            self._by_tail[term[-2:]].append(term)
        self._kind_of = [d.kind for d in self._docs]
        # How members name a service in a query: its slug ("step-functions", "stepfunctions",
        # "step functions") or its name without the vendor ("Step Functions", "API Gateway").
        # By first word: (the name's words, slug), so a query's words are looked up, not scanned for.
        self._service_names: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for slug, name in bank.taxonomy.services.items():
            spoken = {slug, slug.replace("-", " "), slug.replace("-", "")}
            bare = re.sub(r"^(aws|amazon)\s+", "", name.lower()).strip()
            if bare:
                spoken.add(bare)
            for words in {tuple(tokens(x)) for x in spoken} - {()}:
                self._service_names[words[0]].append((words, slug))
        self._expand = lru_cache(maxsize=8192)(self._expand_uncached)
        # Members ask about the same few hundred words: keep their merged postings.
        self._word_scores = lru_cache(maxsize=4096)(self._word_scores_uncached)

    def __len__(self) -> int:
        return len(self._docs)

    def _expand_uncached(self, token: str) -> tuple[tuple[str, float], ...]:
        out: dict[str, float] = {}
        if token in self._postings:
            out[token] = 1.0
        if len(token) >= 3:
            # A word that is itself a term needs few completions ("api" -> "apis"); scoring forty
            # of them made a pasted sentence cost milliseconds.
            cap = 6 if token in self._postings else 40
            i = bisect.bisect_left(self._vocab, token)
            while i < len(self._vocab) and self._vocab[i].startswith(token):
                term = self._vocab[i]
                if term != token:
                    out[term] = max(out.get(term, 0), 0.8 if len(token) >= 4 else 0.6)
                i += 1
                if len(out) > cap:
                    break
        if len(token) >= 4 and token not in self._postings:
            cutoff = 80 if len(token) >= 6 else 75
            # fuzz.ratio >= cutoff bounds the length of a match: 2n/(n+m) >= c.
            c = cutoff / 100
            lo, hi = len(token) * c / (2 - c), len(token) * (2 - c) / c
            candidates = [
                t for t in dict.fromkeys(self._by_head.get(token[0], []) + self._by_tail.get(token[-2:], []))
                if lo <= len(t) <= hi
            ]
            for term, score, _ in process.extract(
                token, candidates, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5
            ):
                out[term] = max(out.get(term, 0), 0.85 * score / 100)
        return tuple(out.items())

    def _word_scores_uncached(self, word: str) -> dict[int, float]:
        """Each document's best score for one query word over the word's expansions."""
        best: dict[int, float] = {}
        for term, sim in self._expand(word):
            for doc, weight in self._postings[term]:
                s = sim * weight
                if s > best.get(doc, 0.0):
                    best[doc] = s
        return best

    def _named(self, words: list[str]) -> set[str]:
        found = set()
        for i, word in enumerate(words):
            for name, slug in self._service_names.get(word, ()):
                if tuple(words[i:i + len(name)]) == name:
                    found.add(slug)
        return found

    def search(self, query: str, *, kind: str | None = None, limit: int = 5) -> list[Hit]:
        words: list[str] = []
        for w in _WORD.findall(query.lower()[:500]):
            if w in STOPWORDS:
                continue
            words.extend(SYNONYMS.get(w, (stem(w),)))
        words = list(dict.fromkeys(words))[:12]
        if not words:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, int] = defaultdict(int)
        for word in words:
            for doc, s in self._word_scores(word).items():
                scores[doc] += s
                matched[doc] += 1
        n_words = len(words)
        # A service named in the query favours entries that are about that service first, and an
        # entry one of whose keyword phrases the query holds whole is favoured again.
        named = self._named(words)
        said = set(words)
        whole = {doc for w in said for phrase, doc in self._phrases_by_word.get(w, ()) if phrase <= said}
        ranked = []
        for doc, s in scores.items():
            if kind and self._kind_of[doc] != kind:
                continue
            coverage = matched[doc] / n_words
            boost = NAMED_BOOST if self._primary[doc] in named else 1.0
            if doc in whole:
                boost *= PHRASE_BOOST
            ranked.append((s * coverage * coverage * boost, doc))
        ranked = heapq.nsmallest(limit, ranked, key=lambda x: (-x[0], x[1]))  # the best few, not a full sort
        hits = []
        for score, doc in ranked[:limit]:
            d = self._docs[doc]
            hits.append(Hit(d.kind, d.id, d.title, d.text, score))
        return hits
