"""A coder's screener answers: kept on the profile, read from the apply form, judged against a listing's questions.

The questions, their shape and the rule of meeting one are `listings.screening`'s; this module keeps the coder's
side. Answers live in `coder_profiles.screening_answers`, keyed by `listings.screening.answer_key`: a template's
answer serves every listing that asks it, a custom question's is remembered by its text. The state template
falls back to the profile's own state (from its ZIP), so a coder with a ZIP has answered it already.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from careers.coders.service import CoderError, get_or_create_profile
from careers.coders.tables import CoderProfile
from careers.core import clock
from listings import screening as questions_rules
from listings.tables import Listing

ANSWER_FIELD = "answer"  # the apply form's fields: answer.1 … answer.8, one per question in the listing's order


def saved_answers(raw: Any, home_state: str | None = None) -> dict[str, Any]:
    """The profile's answers (a JSON string or dict) with the state template answered from the profile's state."""
    if isinstance(raw, str):
        raw = json.loads(raw or "{}")
    answers = dict(raw or {})
    if home_state and not answers.get("state_of_residence"):
        answers["state_of_residence"] = home_state
    return answers


def storable(answers: dict[str, Any], home_state: str | None) -> dict[str, Any]:
    """The answers to keep on the profile: a state answer equal to the profile's own state is not kept, so the
    profile's ZIP stays the source of it (a later move changes the answer too)."""
    if home_state and answers.get("state_of_residence") == home_state:
        return {k: v for k, v in answers.items() if k != "state_of_residence"}
    return answers


def answer_field(index: int) -> str:
    return f"{ANSWER_FIELD}.{index}"


def read_submitted(questions: list[dict[str, Any]], form: Mapping[str, Any]) -> dict[str, Any]:
    """The apply form's answers by answer key (an empty field is no answer); a bad one raises CoderError(field)."""
    answers: dict[str, Any] = {}
    for index, question in enumerate(questions, start=1):
        name = answer_field(index)
        if name not in form:
            continue
        try:
            value = questions_rules.read_answer(question, form[name])
        except ValueError as exc:
            raise CoderError(f"{question['text']} {exc}", name) from None
        if value is not None:
            answers[questions_rules.answer_key(question)] = value
    return answers


def form_questions(questions: list[dict[str, Any]], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each question for the apply form, with its field name and the coder's saved answer as the prefill."""
    out = []
    for index, question in enumerate(questions, start=1):
        answer = answers.get(questions_rules.answer_key(question))
        out.append({**question, "field": answer_field(index), "index": index,
                    "prefill": answer if isinstance(answer, list) else questions_rules.answer_text(answer),
                    "requirement": questions_rules.requirement_text(question) if question["must_meet"] else ""})
    return out


def record(questions: list[dict[str, Any]], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What an application keeps: each question as asked, the answer given and whether it met a must-meet rule."""
    return [{"text": q["text"], "kind": q["kind"], "template": q["template"], "must_meet": q["must_meet"],
             "answer": answers.get(questions_rules.answer_key(q)),
             "meets": questions_rules.meets(q, answers.get(questions_rules.answer_key(q))) if q["must_meet"] else None}
            for q in questions]


def panel(listing_questions: Any, raw_answers: Any, home_state: str | None) -> dict[str, Any] | None:
    """The listing page's screener block for a signed-in coder: the verdict and the apply form's questions."""
    questions = questions_rules.normalise(listing_questions)
    if not questions:
        return None
    answers = saved_answers(raw_answers, home_state)
    return {"verdict": questions_rules.verdict(questions, answers), "questions": form_questions(questions, answers)}


def screened_out_mail(coder_name: str, listing_title: str, employer_name: str, reasons: list[str],
                      base_url: str) -> tuple[str, str]:
    """(subject, text) of the one mail a coder gets when a must-meet answer screens their application out."""
    lines = [f"Hello {coder_name or 'there'},", "",
             (f"Thank you for applying to \"{listing_title}\" at {employer_name}. This employer requires answers "
              "you did not meet, so your application was moved to \"Not selected\" straight away:"), ""]
    lines += [f"- {reason}" for reason in reasons]
    lines += ["", "The employer can still see your application and may move it forward.", "",
              f"See your applications: {base_url.rstrip('/')}/account/applications", "", "— CareerCenter"]
    return f"This employer requires more: {listing_title}", "\n".join(lines)


async def save_answers(listing_id: int, user_id: int, form: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the answers the coder gave to a listing's questions on their profile, without applying; returns the
    verdict they now get (the listing page shows it). A bad answer raises CoderError naming its field."""
    row = await Listing.select(Listing.screening_questions).where(Listing.id == listing_id).first()
    questions = questions_rules.normalise(row["screening_questions"] if row else [])
    submitted = read_submitted(questions, form)
    profile = await get_or_create_profile(user_id)
    stored = saved_answers(profile.screening_answers)
    for index, question in enumerate(questions, start=1):  # a cleared field forgets the answer
        if answer_field(index) in form and questions_rules.answer_key(question) not in submitted:
            stored.pop(questions_rules.answer_key(question), None)
    stored = storable({**stored, **submitted}, profile.state or None)
    await CoderProfile.update({CoderProfile.screening_answers: json.dumps(stored),
                               CoderProfile.updated_at: clock.now()}).where(CoderProfile.id == profile.id)
    return questions_rules.verdict(questions, saved_answers(stored, profile.state or None))


async def needs_the_form(listing_id: int, user_id: int) -> bool:
    """Whether a one-click apply must open the apply form instead: the listing has a must-meet question the coder's
    saved answers do not answer yet (a one-click apply must never screen a coder out for want of an answer)."""
    row = await Listing.select(Listing.screening_questions).where(Listing.id == listing_id).first()
    questions = questions_rules.normalise(row["screening_questions"] if row else [])
    if not any(q["must_meet"] for q in questions):
        return False
    profile = await CoderProfile.select(CoderProfile.screening_answers, CoderProfile.state).where(
        CoderProfile.user == user_id).first()
    answers = saved_answers(profile["screening_answers"], profile["state"] or None) if profile else {}
    return not questions_rules.verdict(questions, answers)["all_answered"]


# ---- the profile's own section: answers to the coding templates, remembered custom answers ----------------------

PROFILE_FIELD = "tpl"  # the profile form's fields: tpl.<template name>, and `forget` for custom answers


def _template_question(name: str) -> dict[str, Any]:
    text, kind, choices = questions_rules.TEMPLATES[name]
    return {"text": text, "kind": kind, "choices": choices, "template": name, "must_meet": False}


def profile_section(raw_answers: Any, home_state: str | None) -> dict[str, Any]:
    """The profile page's screener answers: one input per template (the state comes from the profile's ZIP) and the
    custom answers remembered by question text, each of which the coder may forget."""
    answers = saved_answers(raw_answers)
    templates = []
    for name in questions_rules.TEMPLATES:
        question = _template_question(name)
        answer = answers.get(name)
        templates.append({**question, "name": name, "field": f"{PROFILE_FIELD}.{name}",
                          "from_profile": name == "state_of_residence",
                          "prefill": answer if isinstance(answer, list) else questions_rules.answer_text(
                              home_state if name == "state_of_residence" and not answer else answer)})
    custom = [{"key": key, "text": key.removeprefix("text:"), "answer": questions_rules.answer_text(value)}
              for key, value in answers.items() if key.startswith("text:")]
    return {"templates": templates, "custom": custom}


async def save_profile_answers(user_id: int, form: Mapping[str, Any]) -> None:
    """Save the profile's template answers (an empty field forgets one) and forget the custom answers ticked."""
    profile = await get_or_create_profile(user_id)
    stored = saved_answers(profile.screening_answers)
    for name in questions_rules.TEMPLATES:
        if name == "state_of_residence":
            continue  # the profile's state, from its ZIP
        field = f"{PROFILE_FIELD}.{name}"
        question = _template_question(name)
        try:
            value = questions_rules.read_answer(question, form.get(field))
        except ValueError as exc:
            raise CoderError(f"{question['text']} {exc}", field) from None
        if value is None:
            stored.pop(name, None)
        else:
            stored[name] = value
    forget = form.get("forget") or []
    for key in forget if isinstance(forget, list) else [forget]:
        stored.pop(str(key), None)
    await CoderProfile.update({CoderProfile.screening_answers: json.dumps(stored),
                               CoderProfile.updated_at: clock.now()}).where(CoderProfile.id == profile.id)


def submitted_fields(form: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The apply form's answer fields as (name, value) pairs, to send them again from a page that asks for a fix."""
    pairs = []
    for name, value in form.items():
        if name.startswith(ANSWER_FIELD + "."):
            pairs += [(name, str(v)) for v in (value if isinstance(value, list) else [value])]
    return pairs
