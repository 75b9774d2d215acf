"""The content loader: every kind of error is reported with file, entry id and reason; the shipped bank loads."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from content.loader import BankError, load_bank, near_duplicates
from tests.conftest import ROOT

GOOD_Q = """
  - id: q-good-one
    domain: 1
    task: "1.2"
    services: [lambda]
    difficulty: 2
    stem: "A developer sees a Lambda function run out of scratch space while unpacking an archive. What should they change?"
    options: {A: "Ephemeral storage size", B: "Reserved concurrency", C: "Timeout", D: "Layers"}
    key: [A]
    explanation: "The /tmp size is set by the ephemeral storage setting of the function, up to 10,240 MB."
    wrong: {B: "concurrency is unrelated", C: "time is unrelated", D: "layers are read-only"}
    references: [https://docs.aws.amazon.com/lambda/latest/dg/configuration-ephemeral-storage.html]
"""


def bank_dir(tmp_path: Path, questions: str = GOOD_Q, scenarios: str = "", facts: str = "") -> Path:
    for kind, body in (("questions", questions), ("scenarios", scenarios), ("facts", facts)):
        (tmp_path / kind).mkdir(exist_ok=True)
        if body:
            (tmp_path / kind / "x.yaml").write_text(f"{kind}:\n{body}", encoding="utf-8")
    return tmp_path


def problems(tmp_path, **kw) -> list[str]:
    with pytest.raises(BankError) as info:
        load_bank(bank_dir(tmp_path, **kw))
    return [str(p) for p in info.value.problems]


def test_good_entry_loads(tmp_path):
    bank = load_bank(bank_dir(tmp_path))
    assert [q.id for q in bank.questions] == ["q-good-one"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("key: [A]", "key: [E]"), "key E is not an option"),
        (("key: [A]", "key: [A, B]"), "5 or more options"),
        (('task: "1.2"', 'task: "2.1"'), "task 2.1 belongs to domain 2, not 1"),
        (("services: [lambda]", "services: [lambada]"), "service 'lambada' is not a slug"),
        (("difficulty: 2", "difficulty: 7"), "difficulty"),
        (("https://docs.aws.amazon.com/lambda", "https://example.com/lambda"), "must be an https page"),
        ((', D: "layers are read-only"', ""), "missing a line for wrong option(s) D"),
        (("wrong: {B", "wrong: {A: x, B"), "has a line for A, which is not a wrong option"),
        (('D: "Layers"', 'D: "Layers", E: "Extensions"'), "exactly 4 options"),
        (("    explanation:", "    colour: red\n    explanation:"), "colour: Extra inputs are not permitted"),
    ],
)
def test_each_question_error_has_its_message(tmp_path, change, expected):
    body = GOOD_Q.replace(*change)
    assert body != GOOD_Q
    found = problems(tmp_path, questions=body)
    assert any(expected in p for p in found), found
    assert all("questions/x.yaml [q-good-one]: " in p for p in found), found


def test_all_problems_are_reported_not_only_the_first(tmp_path):
    body = GOOD_Q + GOOD_Q.replace("q-good-one", "q-good-two").replace("key: [A]", "key: [Z]")
    body += GOOD_Q.replace("q-good-one", "q-good-three").replace("difficulty: 2", "difficulty: 0")
    found = problems(tmp_path, questions=body)
    assert any("[q-good-two]" in p for p in found) and any("[q-good-three]" in p for p in found)


def test_choose_n_must_match_the_key(tmp_path):
    five = GOOD_Q.replace('D: "Layers"}', 'D: "Layers", E: "Extensions"}').replace("key: [A]", "key: [A, B]")
    five = five.replace('wrong: {B: "concurrency is unrelated", ', 'wrong: {E: "extensions are unrelated", ')
    found = problems(tmp_path, questions=five)
    assert any("must end with '(Choose TWO.)'" in p for p in found), found
    fixed = five.replace("What should they change?", "What should they change? (Choose TWO.)")
    assert load_bank(bank_dir(tmp_path, questions=fixed)).questions[0].multiple


def test_duplicate_ids_and_near_duplicate_stems(tmp_path):
    found = problems(tmp_path, questions=GOOD_Q + GOOD_Q)
    assert any("id is used twice" in p for p in found)
    near = GOOD_Q + GOOD_Q.replace("q-good-one", "q-good-two").replace("What should they change?", "What should they alter?")
    found = problems(tmp_path, questions=near)
    assert any("near-identical to q-good-one" in p for p in found)


def test_yaml_errors_name_the_line(tmp_path):
    found = problems(tmp_path, questions="  - id: [unclosed\n")
    assert any("invalid YAML at line" in p for p in found)


def test_yaml_aliases_are_refused(tmp_path):
    bomb = '  - &a {id: x}\n  - *a\n'
    found = problems(tmp_path, questions=bomb)
    assert any("anchors and aliases" in p for p in found)


def test_wrong_top_level_key(tmp_path):
    (tmp_path / "questions").mkdir()
    (tmp_path / "questions" / "x.yaml").write_text("question:\n  - id: x\n")
    with pytest.raises(BankError, match="one key 'questions:'"):
        load_bank(tmp_path)


def test_near_duplicates_function():
    pairs = near_duplicates([("a", "the quick brown fox jumps"), ("b", "the quick brown fox jumped"), ("c", "unrelated")])
    assert [(a, b) for a, b, _ in pairs] == [("a", "b")]


def test_every_shipped_content_file_loads(real_bank):
    assert len(real_bank.questions) >= 20
    assert any("Access-Control-Allow-Origin" in s.situation or "CORS" in s.solution for s in real_bank.scenarios)
    seed_rows = [s for s in real_bank.scenarios]
    assert len(seed_rows) >= 30


def test_cli_check_and_stats_json():
    exe = [sys.executable, "-m", "bot.cli"]
    ok = subprocess.run([*exe, "content", "check"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert ok.returncode == 0, ok.stderr
    out = subprocess.run([*exe, "content", "stats", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    data = json.loads(out.stdout)
    for key in ("questions", "scenarios", "facts", "multiple_response"):
        assert isinstance(data[key], int)
    assert set(data["by_domain"]) == {"1", "2", "3", "4"}
    assert "1.1" in data["by_task"] and "lambda" in data["by_service"]
    assert sum(data["by_domain"].values()) == data["questions"]


def test_cli_check_fails_on_a_broken_bank(tmp_path):
    bank_dir(tmp_path, questions=GOOD_Q.replace("key: [A]", "key: [Q]"))
    r = subprocess.run([sys.executable, "-m", "bot.cli", "content", "check", "--root", str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 1 and "[q-good-one]" in r.stderr


def test_shipped_bank_meets_the_coverage_targets(real_bank):
    """The bar for ten mock exams (issue #16): 650+ active (not retired) questions in the exam's domain mix."""
    from collections import Counter

    from content.loader import stats

    s = stats(real_bank)
    n = s["questions"]
    assert n >= 650 and s["scenarios"] >= 220 and s["facts"] >= 320
    for domain, weight in {"1": 32, "2": 26, "3": 24, "4": 18}.items():
        assert abs(100 * s["by_domain"][domain] / n - weight) <= 2, (domain, s["by_domain"])
    assert all(count >= 30 for count in s["by_task"].values()), s["by_task"]
    in_scope = real_bank.taxonomy.in_scope
    assert len(in_scope) == 47
    assert all(s["by_service"].get(slug, 0) >= 4 for slug in in_scope), s["by_service"]
    assert 0.18 * n <= s["multiple_response"] <= 0.25 * n
    assert s["by_difficulty"]["1"] >= 0.15 * n and s["by_difficulty"]["3"] >= 0.30 * n
    assert s["scenario_services"] >= 30 and s["fact_services"] >= 30
    single = [q for q in real_bank.practice_questions if not q.multiple]  # coverage counts active questions
    keys = Counter(next(iter(q.key)) for q in single)
    assert max(keys.values()) - min(keys.values()) <= 0.05 * len(single), keys
    longest = [q for q in single if len(q.option_text(next(iter(q.key)))) > max(
        len(t) for letter, t in q.options if letter not in q.key)]
    assert len(longest) <= 0.25 * len(single)
    seed_rows = [sc for sc in real_bank.scenarios if sc.id in SEED_IDS]
    assert len(seed_rows) == len(SEED_IDS)


def _seed_ids() -> set[str]:
    import yaml

    data = yaml.safe_load((ROOT / "content" / "scenarios" / "seed-table.yaml").read_text(encoding="utf-8"))
    return {row["id"] for row in data["scenarios"] if row.get("source") == "seed"}


SEED_IDS = _seed_ids()


def test_every_row_of_the_guide_table_is_a_scenario():
    # The study guide's "Common Exam Scenarios" table has 29 rows; each is one scenario.
    assert len(SEED_IDS) == 29


def test_multiple_response_keys_match_choose_n(real_bank):
    words = {2: "TWO", 3: "THREE"}
    for q in real_bank.questions:
        if q.multiple:
            assert q.stem.endswith(f"(Choose {words[len(q.key)]}.)"), q.id
            assert len(q.options) >= 5
        else:
            assert len(q.options) == 4 and "(Choose" not in q.stem
        assert {letter for letter, _ in q.wrong} == set(q.letters) - q.key
        assert all(r.startswith(("https://docs.aws.amazon.com/", "https://aws.amazon.com/")) for r in q.references)


def test_bank_cache_hits_only_for_unchanged_valid_content(tmp_path):
    from content.loader import load_bank_cached

    (tmp_path / "bank").mkdir()
    root = bank_dir(tmp_path / "bank")
    cache = tmp_path / "cache"
    first = load_bank_cached(root, cache_dir=cache)
    [pickled] = list(cache.glob("bank-*.pickle"))
    assert load_bank_cached(root, cache_dir=cache) == first
    # A changed file is validated again (and a broken one still stops the start).
    (root / "questions" / "x.yaml").write_text("questions:\n" + GOOD_Q.replace("key: [A]", "key: [Q]"))
    with pytest.raises(BankError):
        load_bank_cached(root, cache_dir=cache)
    assert list(cache.glob("bank-*.pickle")) == [pickled]  # the invalid bank was not cached
    (root / "questions" / "x.yaml").write_text("questions:\n" + GOOD_Q.replace("q-good-one", "q-good-new"))
    assert [q.id for q in load_bank_cached(root, cache_dir=cache).questions] == ["q-good-new"]
    assert len(list(cache.glob("bank-*.pickle"))) == 1  # the stale entry was replaced
    # A corrupt cache file is ignored.
    [current] = list(cache.glob("bank-*.pickle"))
    current.write_bytes(b"not a pickle")
    assert [q.id for q in load_bank_cached(root, cache_dir=cache).questions] == ["q-good-new"]
