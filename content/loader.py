"""Load and validate the whole bank, reporting every problem (file, entry id, reason) at once.

The bot refuses to start on an invalid bank, so a broken file is a clear report at start-up,
never a crash in the middle of a daily post.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError
from rapidfuzz import fuzz, process

from bot.core.models import Bank, Domain, Fact, Question, Scenario, Task, Taxonomy
from content.schema import ID_RE, KINDS, FactEntry, QuestionEntry, ScenarioEntry

log = logging.getLogger(__name__)
CONTENT_DIR = Path(__file__).resolve().parent
MAX_FILE_BYTES = 4 * 1024 * 1024
NEAR_DUPLICATE_RATIO = 90
# Every question id that ever shipped, one a line, sorted. History (answers, points, review
# cards) points at question ids, so a shipped id may be retired but never deleted.
SHIPPED_IDS = "shipped-ids.txt"
SHIPPED_HEADER = (
    "# Every question id that ever shipped, one a line, sorted. A listed id must stay in the bank:\n"
    "# retire a question with `retired: <date> <reason>` instead of deleting it.\n"
    "# Add new ids with `studybot content check --update-shipped`.\n"
)
UPDATE_SHIPPED_HINT = "studybot content check --update-shipped"
QUESTION_ID_IN_TEXT = re.compile(r"(?<![a-z0-9.-])q-[a-z0-9][a-z0-9.-]*[a-z0-9]")


@dataclass(frozen=True, slots=True)
class ContentProblem:
    file: str
    entry: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file + (f" [{self.entry}]" if self.entry else "")
        return f"{where}: {self.reason}"


class BankError(Exception):
    """The bank has problems; `problems` lists every one of them."""

    def __init__(self, problems: list[ContentProblem]) -> None:
        self.problems = problems
        super().__init__(self.report())

    def report(self) -> str:
        lines = [f"the content bank has {len(self.problems)} problem(s):"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> object:
    """Safe YAML without anchors and aliases: content never needs them, and they allow bombs.

    The event scan and the load both run in libyaml when it is present (10x faster than the
    pure-Python loader, which matters for start-up time).
    """
    for event in yaml.parse(text, Loader=_FastLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (*name) are not allowed in content files", event.start_mark
            )
    return yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a safe loader


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root.parent)) if root.parent in path.parents else str(path)


def read_shipped(root: Path | None = None, problems: list[ContentProblem] | None = None) -> set[str]:
    """The ids in `root`/shipped-ids.txt (none when the file is absent). Blank lines and lines
    starting with # are skipped; a line that is not an id is a problem."""
    root = Path(root) if root else CONTENT_DIR
    path = root / SHIPPED_IDS
    problems = [] if problems is None else problems
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(ContentProblem(_rel(path, root), None, f"cannot read the shipped ids: {exc}"))
        return set()
    ids: set[str] = set()
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not re.fullmatch(ID_RE, line):
            problems.append(ContentProblem(_rel(path, root), f"line {n}", f"{line[:60]!r} is not a question id"))
            continue
        ids.add(line)
    return ids


def unshipped_ids(bank: Bank, root: Path | None = None) -> list[str]:
    """Question ids of the bank that shipped-ids.txt does not list yet, sorted."""
    shipped = read_shipped(root)
    return sorted(q.id for q in bank.questions if q.id not in shipped)


def update_shipped(bank: Bank, root: Path | None = None) -> list[str]:
    """Add the bank's new question ids to shipped-ids.txt (kept sorted, header kept); return them."""
    root = Path(root) if root else CONTENT_DIR
    path = root / SHIPPED_IDS
    new = unshipped_ids(bank, root)
    if not new and path.exists():
        return []
    header = SHIPPED_HEADER
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        top = []
        for line in lines:
            if not line.startswith("#"):
                break
            top.append(line + "\n")
        header = "".join(top)
    ids = sorted(read_shipped(root) | set(new))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(header + "".join(f"{qid}\n" for qid in ids), encoding="utf-8")
    tmp.replace(path)
    return new


def _check_shipped(root: Path, questions: list, problems: list[ContentProblem]) -> None:
    """A shipped id must stay in the bank; a retired question may only name questions that exist."""
    present = {e.id for _, e in questions}
    label = _rel(root / SHIPPED_IDS, root)
    for qid in sorted(read_shipped(root, problems) - present):
        problems.append(ContentProblem(
            label, qid,
            f"question {qid} shipped before; retire it with `retired: <date> <reason>` instead of deleting it",
        ))
    for rel, e in questions:
        if e.retired:
            for named in QUESTION_ID_IN_TEXT.findall(e.retired):
                if named not in present:
                    problems.append(ContentProblem(rel, e.id, f"retired: names {named}, which is not a question in the bank"))


def load_taxonomy(path: Path) -> Taxonomy:
    data = parse_yaml(path.read_text(encoding="utf-8"))
    domains = tuple(Domain(id=d["id"], name=d["name"], weight=d["weight_percent"]) for d in data["domains"])
    tasks = tuple(Task(id=t["id"], domain=t["domain"], title=t["title"]) for t in data["task_statements"])
    in_scope = {s["slug"]: s["name"] for group in data["in_scope_services"].values() for s in group}
    legacy = {s["slug"]: s["name"] for s in data.get("legacy_in_scope_v1", [])}
    return Taxonomy(domains=domains, tasks=tasks, services={**legacy, **in_scope}, in_scope=frozenset(in_scope))


def _pydantic_reason(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        out.append(f"{loc}: {msg}" if loc else msg)
    return out


def _read_entries(path: Path, kind: str, rel: str, problems: list[ContentProblem]) -> list[dict]:
    if path.stat().st_size > MAX_FILE_BYTES:
        problems.append(ContentProblem(rel, None, f"file is larger than {MAX_FILE_BYTES} bytes"))
        return []
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(ContentProblem(rel, None, f"not UTF-8 text ({exc.reason})"))
        return []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        problems.append(ContentProblem(rel, None, f"invalid YAML{where}: {problem}"))
        return []
    if not isinstance(data, dict) or set(data) != {kind}:
        problems.append(ContentProblem(rel, None, f"the file must be a mapping with one key '{kind}:' holding a list"))
        return []
    entries = data[kind]
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.append(ContentProblem(rel, None, f"'{kind}:' must hold a list of entries"))
        return []
    return entries


def _validate(entries: list, kind: str, rel: str, problems: list[ContentProblem]) -> list:
    model = KINDS[kind]
    good = []
    for n, raw in enumerate(entries, start=1):
        entry_id = raw.get("id") if isinstance(raw, dict) else None
        label = str(entry_id) if isinstance(entry_id, str) else f"entry #{n}"
        if not isinstance(raw, dict):
            problems.append(ContentProblem(rel, label, "an entry must be a mapping of fields"))
            continue
        try:
            good.append((rel, model.model_validate(raw)))
        except ValidationError as exc:
            problems.extend(ContentProblem(rel, label, reason) for reason in _pydantic_reason(exc))
    return good


def _check_tags(rel: str, entry, taxonomy: Taxonomy, problems: list[ContentProblem]) -> None:
    tasks = {t.id: t for t in taxonomy.tasks}
    services = entry.services if hasattr(entry, "services") else [entry.service]
    for slug in services:
        if slug not in taxonomy.services:
            problems.append(ContentProblem(rel, entry.id, f"service '{slug}' is not a slug in content/taxonomy.yaml"))
    if isinstance(entry, QuestionEntry):
        task = tasks.get(entry.task)
        if task is None:
            problems.append(ContentProblem(rel, entry.id, f"task '{entry.task}' is not in the taxonomy"))
        elif task.domain != entry.domain:
            problems.append(
                ContentProblem(rel, entry.id, f"task {entry.task} belongs to domain {task.domain}, not {entry.domain}")
            )


def near_duplicates(stems: list[tuple[str, str]], cutoff: int = NEAR_DUPLICATE_RATIO) -> list[tuple[str, str, float]]:
    """Pairs of (id, id, ratio) whose stems have a fuzzy ratio of `cutoff` or more."""
    if len(stems) < 2:
        return []
    texts = [s.lower() for _, s in stems]
    pairs = []
    for i in range(len(texts) - 1):
        for _, ratio, j in process.extract(
            texts[i], texts[i + 1 :], scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
        ):
            pairs.append((stems[i][0], stems[i + 1 + j][0], float(ratio)))
    return pairs


def _to_question(e: QuestionEntry) -> Question:
    return Question(
        id=e.id, domain=e.domain, task=e.task, services=tuple(e.services), difficulty=e.difficulty,
        stem=e.stem, options=tuple(e.options.items()), key=frozenset(e.key), explanation=e.explanation,
        wrong=tuple(sorted(e.wrong.items())), references=tuple(e.references), retired=e.retired,
    )


def _to_scenario(e: ScenarioEntry) -> Scenario:
    return Scenario(
        id=e.id, services=tuple(e.services), situation=e.situation, solution=e.solution, why=e.why,
        keywords=tuple(e.keywords), references=tuple(e.references),
    )


def _to_fact(e: FactEntry) -> Fact:
    return Fact(
        id=e.id, service=e.service, statement=e.statement, value=e.value, unit=e.unit,
        keywords=tuple(e.keywords), references=tuple(e.references),
    )


def load_bank(root: Path | None = None, *, only: list[Path] | None = None) -> Bank:
    """Load every content file under `root` (or just the files in `only`); raise BankError
    listing all problems if any."""
    root = Path(root) if root else CONTENT_DIR
    wanted = {Path(p).resolve() for p in only} if only else None
    problems: list[ContentProblem] = []
    try:
        tax_path = root / "taxonomy.yaml"
        taxonomy = load_taxonomy(tax_path if tax_path.exists() else CONTENT_DIR / "taxonomy.yaml")
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise BankError([ContentProblem("taxonomy.yaml", None, f"cannot read the taxonomy: {exc}")]) from exc

    parsed: dict[str, list] = {}
    for kind in KINDS:
        files = sorted((root / kind).glob("*.yaml")) if (root / kind).is_dir() else []
        parsed[kind] = []
        for path in files:
            if wanted is not None and path.resolve() not in wanted:
                continue
            rel = _rel(path, root)
            parsed[kind] += _validate(_read_entries(path, kind, rel, problems), kind, rel, problems)

    seen: dict[str, str] = {}
    for entries in parsed.values():
        for rel, entry in entries:
            if entry.id in seen:
                problems.append(ContentProblem(rel, entry.id, f"id is used twice (also in {seen[entry.id]})"))
            else:
                seen[entry.id] = rel
            _check_tags(rel, entry, taxonomy, problems)

    questions = parsed["questions"]
    if wanted is None:  # a check of some files cannot tell a deleted id from one in another file
        _check_shipped(root, questions, problems)
    files_by_id = {e.id: rel for rel, e in questions}
    # A retired question is never served, so its successor may repeat its stem.
    for a, b, ratio in near_duplicates([(e.id, e.stem) for _, e in questions if not e.retired]):
        problems.append(ContentProblem(files_by_id[b], b, f"stem is near-identical to {a} (fuzzy ratio {ratio:.0f})"))

    if problems:
        raise BankError(problems)
    return Bank(
        taxonomy=taxonomy,
        questions=tuple(_to_question(e) for _, e in questions),
        scenarios=tuple(_to_scenario(e) for _, e in parsed["scenarios"]),
        facts=tuple(_to_fact(e) for _, e in parsed["facts"]),
    )


def stats(bank: Bank) -> dict:
    """Coverage figures for `studybot content stats`: of the active questions only; retired
    questions are counted apart."""
    qs = bank.practice_questions
    by_domain = Counter(str(q.domain) for q in qs)
    by_task = Counter(q.task for q in qs)
    by_service = Counter(s for q in qs for s in q.services)
    by_difficulty = Counter(str(q.difficulty) for q in qs)
    scenario_services = {s for sc in bank.scenarios for s in sc.services}
    return {
        "questions": len(qs),
        "retired": len(bank.questions) - len(qs),
        "scenarios": len(bank.scenarios),
        "facts": len(bank.facts),
        "multiple_response": sum(1 for q in qs if q.multiple),
        "by_domain": {str(d.id): by_domain.get(str(d.id), 0) for d in bank.taxonomy.domains},
        "by_task": {t.id: by_task.get(t.id, 0) for t in bank.taxonomy.tasks},
        "by_service": {s: by_service.get(s, 0) for s in sorted(bank.taxonomy.in_scope)}
        | {s: n for s, n in sorted(by_service.items()) if s not in bank.taxonomy.in_scope},
        "by_difficulty": {d: by_difficulty.get(d, 0) for d in ("1", "2", "3")},
        "scenario_services": len(scenario_services),
        "fact_services": len({f.service for f in bank.facts}),
    }


CACHE_FORMAT = 1


def _bank_digest(root: Path) -> str:
    """A digest of everything validation depends on: the content files, the taxonomy, the
    shipped ids, and the schema and loader code (so a changed rule re-validates)."""
    h = hashlib.sha256(f"format {CACHE_FORMAT}".encode())
    here = Path(__file__).resolve().parent
    models = here.parent / "bot" / "core" / "models.py"
    for path in [here / "schema.py", here / "loader.py", models, CONTENT_DIR / "taxonomy.yaml",
                 root / SHIPPED_IDS, *sorted(root.glob("*.yaml")), *sorted(root.glob("*/*.yaml"))]:
        if path.exists():
            h.update(str(path.relative_to(path.parent.parent)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:32]


def load_bank_cached(root: Path | None = None, *, cache_dir: Path | None = None) -> Bank:
    """`load_bank`, remembered by digest: the validated bank is pickled under the user's cache
    folder, so a restart with unchanged content skips YAML parsing and validation (about half a
    second). Any change to a content file or to the schema gives a new digest and a full check;
    an invalid bank is never cached, so it still stops the start with its report."""
    root = Path(root) if root else CONTENT_DIR
    if cache_dir is None:
        from platformdirs import user_cache_dir

        cache_dir = Path(user_cache_dir("studybot"))
    path = cache_dir / f"bank-{_bank_digest(root)}.pickle"
    try:
        with path.open("rb") as f:
            bank = pickle.load(f)  # noqa: S301 - our own file in the user's cache folder
        if isinstance(bank, Bank):
            return bank
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        pass
    bank = load_bank(root)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob("bank-*.pickle"):
            old.unlink(missing_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(bank, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError:
        log.debug("could not write the bank cache in %s", cache_dir)
    return bank
