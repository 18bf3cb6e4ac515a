"""Screener questions on a listing: their one shape, the coding templates, validation and the verdict.

One shape everywhere (form, importer, API, moderation's diff, the coder's answers):
`{"text", "kind", "choices", "must_meet", "min", "accepted", "template"}`. On input keys that do not apply may be
left out; `normalise` gives every key back. The form sends flat fields `screening_questions.N.key` (N from 1),
so a field-named error such as `screening_questions.2.min` lands beside its input in the form and in the API.

A coder's answers are keyed by `answer_key(question)`: the template's name (one answer serves every listing that
asks it) or `text:<normalised text>` for a custom question (remembered per question text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from listings import vocabulary as vocab

MAX_QUESTIONS = 8
TEXT_MAX, CHOICE_MAX, CHOICES_MAX = 300, 80, 60
FIELD = "screening_questions"
KINDS = {"yes_no": "Yes / no", "number": "Number", "single_choice": "One choice", "multiple_choice": "Several choices"}
YES_NO = ["yes", "no"]

# name -> (question text, kind, choices). The state template's choices are the two-letter state codes.
TEMPLATES: dict[str, tuple[str, str, list[str]]] = {
    "inpatient_pcs_years": ("How many years of inpatient ICD-10-PCS coding do you have?", "number", []),
    "em_profee_years": ("How many years of E/M or pro-fee coding do you have?", "number", []),
    "encoders": ("Which encoders and EHRs have you coded in?", "multiple_choice",
                 ["3M", "Optum", "Solventum", "TruCode", "Epic", "Cerner", "Meditech", "athenahealth"]),
    "charts_per_hour": ("How many charts per hour do you code on average?", "number", []),
    "accuracy_95": ("Has your coding been audited at 95% accuracy or better?", "yes_no", YES_NO),
    "shift": ("Which shift are you available for?", "single_choice", ["Day", "Evening", "Night", "Weekend"]),
    "state_of_residence": ("Which state do you live in?", "single_choice", list(vocab.US_STATES)),
}
TEMPLATE_LABELS = {
    "inpatient_pcs_years": "Years of inpatient ICD-10-PCS coding",
    "em_profee_years": "Years of E/M / pro-fee coding",
    "encoders": "Encoders and EHRs used",
    "charts_per_hour": "Charts per hour",
    "accuracy_95": "Accuracy audited at 95% or better",
    "shift": "Available shift",
    "state_of_residence": "State of residence",
}
KEYS = ("text", "kind", "choices", "must_meet", "min", "accepted", "template")


def _field(index: int, key: str) -> str:
    return f"{FIELD}.{index}.{key}"


def _as_list(value: Any) -> list[str] | None:
    """A list of strings from a JSON list or a form's comma/line-separated text; None if it is neither."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,\n]", value) if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return False
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "on", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "off", "no"):
        return False
    return None


def _as_number(value: Any) -> float | None | str:
    """A number, None when absent, or the string "bad"."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "bad"
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return "bad"


def from_form(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The form's flat rows (`screening_questions.N.key`) as question dicts; blank rows are dropped."""
    rows = []
    for index in range(1, MAX_QUESTIONS + 1):
        row = {key: raw.get(_field(index, key)) for key in KEYS}
        if not any(row[k] not in (None, "") for k in ("text", "template")):
            continue
        row["template"] = row["template"] or None
        row["_index"] = index
        rows.append(row)
    return rows


def read_raw(raw: Mapping[str, Any]) -> list[Any] | str:
    """The questions a listing's input carries: a JSON list (importer, API, seed-demo), a JSON string, or the form's
    flat rows. A string answer is an error message for the field."""
    given = raw.get(FIELD)
    if given is None or given == "":
        return from_form(raw)
    if isinstance(given, str):
        try:
            given = json.loads(given)
        except json.JSONDecodeError:
            return "Give the screener questions as a JSON list of objects."
    if not isinstance(given, list):
        return "Give the screener questions as a list of objects."
    return given


def _check_one(item: Any, index: int, errors: dict[str, str]) -> dict[str, Any] | None:
    """One question read into the full shape; its problems go to `errors` under field names."""
    if not isinstance(item, Mapping):
        errors[_field(index, "text")] = f"Question {index}: give an object with text and kind."
        return None
    unknown = [k for k in item if k not in KEYS and k != "_index"]
    if unknown:
        errors[_field(index, unknown[0])] = f"Question {index}: unknown key {unknown[0]!r}."
    template = item.get("template") or None
    tpl = None
    if template is not None:
        tpl = TEMPLATES.get(str(template))
        if tpl is None:
            errors[_field(index, "template")] = (f"Question {index}: unknown template {template!r}. "
                                                 f"Choose from: {', '.join(TEMPLATES)}.")
    text = item.get("text") if item.get("text") not in (None, "") else (tpl[0] if tpl else "")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        errors[_field(index, "text")] = f"Question {index}: write the question."
    elif len(text) > TEXT_MAX:
        errors[_field(index, "text")] = f"Question {index}: keep the question to {TEXT_MAX} characters."
    kind = item.get("kind") or (tpl[1] if tpl else "")
    if tpl and kind != tpl[1]:
        errors[_field(index, "kind")] = (f"Question {index}: the {template} template asks a "
                                         f"{KINDS[tpl[1]].lower()} question.")
        kind = tpl[1]
    if kind not in KINDS:
        errors[_field(index, "kind")] = (f"Question {index}: choose the kind: yes_no, number, single_choice or "
                                         "multiple_choice.")
    choices = _as_list(item.get("choices"))
    if choices is None:
        errors[_field(index, "choices")] = f"Question {index}: choices must be a list of words."
        choices = []
    if not choices and tpl:
        choices = list(tpl[2])
    if kind == "yes_no":
        choices = list(YES_NO)
    must_meet = _as_bool(item.get("must_meet"))
    if must_meet is None:
        errors[_field(index, "must_meet")] = f"Question {index}: must_meet is true or false."
        must_meet = False
    question = {"text": text, "kind": kind, "choices": choices, "must_meet": must_meet, "min": None,
                "accepted": [], "template": template}
    _check_rule(item, question, index, errors)
    return question


def _check_rule(item: Mapping[str, Any], question: dict[str, Any], index: int, errors: dict[str, str]) -> None:
    """The kind's own fields: choices for choice kinds, `min` for numbers, `accepted` among the choices."""
    kind = question["kind"]
    if kind in ("single_choice", "multiple_choice"):
        if len(question["choices"]) < 2:
            errors[_field(index, "choices")] = f"Question {index}: give at least two choices."
        elif len(question["choices"]) > CHOICES_MAX or any(len(c) > CHOICE_MAX for c in question["choices"]):
            errors[_field(index, "choices")] = (f"Question {index}: at most {CHOICES_MAX} choices of "
                                                f"{CHOICE_MAX} characters each.")
        elif len({c.lower() for c in question["choices"]}) != len(question["choices"]):
            errors[_field(index, "choices")] = f"Question {index}: each choice once."
    if kind == "number":
        question["choices"] = []
        minimum = _as_number(item.get("min"))
        if minimum == "bad":
            errors[_field(index, "min")] = f"Question {index}: the minimum is a number, such as 2."
        else:
            question["min"] = minimum
        if question["must_meet"] and question["min"] is None:
            errors[_field(index, "min")] = f"Question {index}: give the minimum a must-meet answer needs."
        return
    accepted = _as_list(item.get("accepted"))
    if accepted is None:
        errors[_field(index, "accepted")] = f"Question {index}: accepted answers must be a list."
        return
    by_lower = {c.lower(): c for c in question["choices"]}
    wrong = [a for a in accepted if a.lower() not in by_lower]
    if wrong:
        errors[_field(index, "accepted")] = (f"Question {index}: {', '.join(wrong)} is not one of the choices "
                                             f"({', '.join(question['choices'])}).")
        return
    question["accepted"] = [by_lower[a.lower()] for a in accepted]
    if question["must_meet"] and not question["accepted"]:
        errors[_field(index, "accepted")] = f"Question {index}: choose the answers that meet it."


def validate(raw: Mapping[str, Any], errors: Any) -> list[dict[str, Any]]:
    """The listing's screener questions in the full shape; problems are added to `errors` (a FormErrors)."""
    given = read_raw(raw)
    if isinstance(given, str):
        errors.add(FIELD, given)
        return []
    if len(given) > MAX_QUESTIONS:
        errors.add(FIELD, f"Ask at most {MAX_QUESTIONS} screener questions.")
        return []
    found: dict[str, str] = {}
    questions = []
    for position, item in enumerate(given, start=1):
        index = item.get("_index", position) if isinstance(item, Mapping) else position
        question = _check_one(item, index, found)
        if question is not None:
            questions.append(question)
    texts = [q["text"].lower() for q in questions]
    if not found and len(set(texts)) != len(texts):
        found[FIELD] = "Ask each screener question once."
    for field, message in found.items():
        errors.add(field, message)
    return questions


def normalise(questions: Any) -> list[dict[str, Any]]:
    """Stored questions (a JSON string or list) with every key, in the shape's order."""
    if isinstance(questions, str):
        questions = json.loads(questions or "[]")
    out = []
    for q in questions or []:
        out.append({"text": q.get("text", ""), "kind": q.get("kind", "yes_no"), "choices": list(q.get("choices") or []),
                    "must_meet": bool(q.get("must_meet")),
                    "min": None if q.get("min") is None else float(q["min"]),
                    "accepted": list(q.get("accepted") or []), "template": q.get("template")})
    return out


def summary(questions: Any) -> str:
    """One line per question, for moderation's diff and the snapshot an admin approves."""
    lines = []
    for q in normalise(questions):
        rule = ""
        if q["must_meet"]:
            needs = f"≥ {q['min']:g}" if q["kind"] == "number" else " / ".join(q["accepted"])
            rule = f" [must meet: {needs}]"
        choices = f" ({', '.join(q['choices'])})" if q["kind"] in ("single_choice", "multiple_choice") else ""
        lines.append(f"{q['text']}{choices}{rule}")
    return "\n".join(lines)


def form_rows(questions: Any) -> dict[str, str]:
    """Stored questions as the form's flat fields (strings)."""
    form: dict[str, str] = {}
    for index, q in enumerate(normalise(questions), start=1):
        form[_field(index, "template")] = q["template"] or ""
        form[_field(index, "text")] = q["text"]
        form[_field(index, "kind")] = q["kind"]
        form[_field(index, "choices")] = ", ".join(q["choices"]) if q["kind"] != "yes_no" else ""
        form[_field(index, "must_meet")] = "1" if q["must_meet"] else ""
        form[_field(index, "min")] = "" if q["min"] is None else f"{q['min']:g}"
        form[_field(index, "accepted")] = ", ".join(q["accepted"])
    return form


def kept_rows(form: Mapping[str, Any]) -> dict[str, str]:
    """The form's flat question fields as typed, to show them again with messages."""
    return {_field(i, k): (form.get(_field(i, k)) or "") if isinstance(form.get(_field(i, k)), str) else ""
            for i in range(1, MAX_QUESTIONS + 1) for k in KEYS}


# ---- answers and the verdict ---------------------------------------------------------------------------


def answer_key(question: Mapping[str, Any]) -> str:
    """Where a coder's answer to this question is kept: the template, or the question's normalised text."""
    if question.get("template"):
        return str(question["template"])
    return "text:" + " ".join(str(question.get("text", "")).lower().split())


def read_answer(question: Mapping[str, Any], value: Any) -> Any:
    """A submitted answer in the question's type (float, str or list[str]); None when empty. Raises ValueError."""
    kind = question["kind"]
    if kind == "multiple_choice":
        values = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        by_lower = {c.lower(): c for c in question["choices"]}
        picked = [by_lower.get(str(v).strip().lower()) for v in values if str(v).strip()]
        if any(p is None for p in picked):
            raise ValueError("Choose from the listed answers.")
        return [c for c in question["choices"] if c in picked] or None  # in the choices' order, each once
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or str(value).strip() == "":
        return None
    if kind == "number":
        number = _as_number(value)
        if number == "bad" or number is None or number < 0 or number > 100000:
            raise ValueError("Enter a number, such as 3.")
        return number
    choices = question["choices"] if kind != "yes_no" else YES_NO
    by_lower = {c.lower(): c for c in choices}
    picked = by_lower.get(str(value).strip().lower())
    if picked is None:
        raise ValueError("Choose one of the listed answers.")
    return picked


def meets(question: Mapping[str, Any], answer: Any) -> bool | None:
    """True / False for an answer against a must-meet rule; None when there is no answer."""
    if answer is None or answer == [] or answer == "":
        return None
    if question["kind"] == "number":
        try:
            return float(answer) >= float(question["min"] or 0)
        except (TypeError, ValueError):
            return False
    accepted = {a.lower() for a in question.get("accepted") or []}
    given = answer if isinstance(answer, list) else [answer]
    return any(str(a).lower() in accepted for a in given)


def answer_text(answer: Any) -> str:
    if answer is None:
        return ""
    if isinstance(answer, list):
        return ", ".join(str(a) for a in answer)
    if isinstance(answer, float):
        return f"{answer:g}"
    return str(answer)


def requirement_text(question: Mapping[str, Any]) -> str:
    """The must-meet rule in plain words ("at least 2", "yes", "one of Epic, Cerner")."""
    if question["kind"] == "number":
        return f"at least {float(question['min'] or 0):g}"
    accepted = question.get("accepted") or []
    if len(accepted) == 1:
        return accepted[0]
    return "one of " + ", ".join(accepted)


def verdict(questions: Any, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Per must-meet question "meets" / "does_not_meet" / "not_answered", and whether the coder would be screened
    out (any answer missing or failing); `reasons` names each unmet requirement in the employer's terms."""
    rows, reasons = [], []
    for q in normalise(questions):
        if not q["must_meet"]:
            continue
        answer = answers.get(answer_key(q))
        ok = meets(q, answer)
        status = "not_answered" if ok is None else "meets" if ok else "does_not_meet"
        rows.append({"text": q["text"], "status": status, "answer": answer_text(answer),
                     "requirement": requirement_text(q)})
        if not ok:
            reasons.append(f"{q['text']} — this employer requires {requirement_text(q)}"
                           + (f"; you answered {answer_text(answer)}" if ok is False else "; you did not answer"))
    return {"rows": rows, "screened_out": bool(reasons), "reasons": reasons,
            "all_answered": all(r["status"] != "not_answered" for r in rows)}
