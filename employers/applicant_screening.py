"""The applicant tracker's screener side: each applicant's answers, the "screened out" filter, filtering and
sorting by an answer, and the CSV's answer columns.

An application keeps the questions as asked and the answers given (`applications.screening`, written at apply
time by `careers.coders.applications`); the listing's current questions only name the filter's options.
Filters are read from the URL: `screened=out|in`, `answer=N:value` (question N's answer includes the value; for
a number question, is at least it) and `sort=answer-N` (numbers highest first, other answers alphabetically).
"""

from __future__ import annotations

import json
import re
from typing import Any

from listings import screening as rules

SCREENED_FILTERS = {"": "Everyone", "out": "Screened out", "in": "Not screened out"}
_ANSWER = re.compile(r"^([1-8]):(.{1,80})$")
_SORT = re.compile(r"^answer-([1-8])$")
NUMBER_STEPS = (1, 2, 3, 5, 10)


def record(value: Any) -> list[dict[str, Any]]:
    """The application's screener record (a JSON string or list)."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "[]")
        except ValueError:
            value = []
    return value if isinstance(value, list) else []


def answers_view(value: Any) -> list[dict[str, Any]]:
    """Each question with the answer in words and, for a must-meet one, whether it met."""
    return [{"text": r.get("text", ""), "answer": rules.answer_text(r.get("answer")) or "—",
             "must_meet": bool(r.get("must_meet")), "meets": r.get("meets")} for r in record(value)]


def valid_answer_filter(value: str | None) -> str:
    return value if value and _ANSWER.match(value) else ""


def valid_sort(value: str | None) -> bool:
    return bool(value and _SORT.match(value))


def _answer(applicant: dict[str, Any], index: int) -> Any:
    answers = applicant["screening_record"]
    return answers[index - 1].get("answer") if 0 < index <= len(answers) else None


def _matches(answer: Any, wanted: str) -> bool:
    if answer is None:
        return False
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        try:
            return float(answer) >= float(wanted)
        except ValueError:
            return False
    given = answer if isinstance(answer, list) else [answer]
    return wanted.lower() in (str(a).lower() for a in given)


def apply_filters(applicants: list[dict[str, Any]], screened: str, answer: str) -> list[dict[str, Any]]:
    """The applicants the "screened out" and answer filters keep."""
    if screened == "out":
        applicants = [a for a in applicants if a["screened_out"]]
    elif screened == "in":
        applicants = [a for a in applicants if not a["screened_out"]]
    found = _ANSWER.match(answer or "")
    if found:
        index, wanted = int(found.group(1)), found.group(2)
        applicants = [a for a in applicants if _matches(_answer(a, index), wanted)]
    return applicants


def sort_key(sort: str, newest):
    """The sort key for `sort=answer-N`: answered before unanswered; numbers highest first, text A to Z."""
    index = int(_SORT.match(sort).group(1))

    def key(applicant: dict[str, Any]):
        answer = _answer(applicant, index)
        if answer is None:
            return (2, 0.0, "", *newest(applicant))
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            return (0, -float(answer), "", *newest(applicant))
        return (1, 0.0, rules.answer_text(answer).lower(), *newest(applicant))
    return key


def filter_options(questions: Any, sorts: dict[str, str]) -> dict[str, Any]:
    """The list page's screener controls from the listing's questions: answer filters, and `sorts` with a sort
    by each question's answer added."""
    answer_options, sorts = [], dict(sorts)
    for index, q in enumerate(rules.normalise(questions), start=1):
        short = q["text"] if len(q["text"]) <= 60 else q["text"][:57] + "…"
        sorts[f"answer-{index}"] = f"Answer to: {short}"
        if q["kind"] == "number":
            steps = sorted({*NUMBER_STEPS, *([q["min"]] if q["min"] is not None else [])})
            answer_options += [(f"{index}:{step:g}", f"{short} — at least {step:g}") for step in steps]
        else:
            answer_options += [(f"{index}:{choice}", f"{short} — {choice}") for choice in q["choices"]]
    return {"answer_options": answer_options, "sorts": sorts, "screened_filters": SCREENED_FILTERS,
            "has_questions": bool(rules.normalise(questions))}


def csv_header(questions: Any) -> list[str]:
    """The CSV's extra columns: "Screened out" and one per question asked (none for a listing without questions)."""
    texts = [q["text"] for q in rules.normalise(questions)]
    return ["Screened out", *texts] if texts else []


def csv_cells(applicant: dict[str, Any], questions: Any) -> list[str]:
    """The applicant's cells for `csv_header`: answers matched to the listing's questions by text."""
    by_text = {r.get("text"): r.get("answer") for r in applicant["screening_record"]}
    cells = [rules.answer_text(by_text.get(q["text"])) for q in rules.normalise(questions)]
    return ["yes" if applicant["screened_out"] else "no", *cells] if cells else []
