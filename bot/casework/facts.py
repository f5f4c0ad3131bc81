"""What a decision needs, read from an intake's answers: who applied and for whom, the
person's age and ID number, the household's income per head, the office handling the case.

A caseworker should not have to add up a household's income or work out an age from a
birth date across forty answers. The card reads these from the steps of the default flow
(bot/flows/judicial-assistance.yaml) by their ids, wherever a flow has steps of those ids;
the ID number is the answer of the first ``id_number`` step, whatever its id. A flow
without them simply shows less. Pure: no I/O, no texts (bot/cards.py words them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.flow.model import Flow, Step
from bot.flow.values import strip_bidi
from bot.store.casework import Case

# The default flow's steps the card reads (docs/flow-format.md lists them).
APPLYING_FOR = "applying_for"  # self / relative / official
RELATIONSHIP = "relationship"  # what the relative is to the person (a choice)
RELATIONSHIP_OTHER = "relationship_other"  # ... in their words
APPLICANT_NAME = "applicant_name"  # who applies, when not the person themselves
HELPER_ROLE = "helper_role"  # a village official's role
BIRTH_DATE = "birth_date"
HOUSEHOLD_SIZE = "household_size"
MONTHLY_INCOME = "monthly_income"
AUTHORITY = "authority"  # police / procuratorate / court / none / unknown (a choice)
AUTHORITY_NAME = "authority_name"  # which station, procuratorate or court

SELF = "self"


@dataclass(frozen=True)
class Facts:
    """The answers a decision turns on, as answered (labels in the flow's language)."""

    for_whom: str = ""  # the person who needs help (the step tagged ``name``)
    by_self: bool | None = None  # None: the flow does not ask who applies
    applicant: str = ""  # who applied, when someone else did
    relation: str = ""  # what they are to the person (or a helper's role)
    age: int | None = None
    id_number: str | None = None  # whole: the card masks it, Reveal shows it
    income: Decimal | None = None  # the household's monthly income, yuan
    members: int | None = None
    authority: str = ""  # the office handling the case, with its name when given

    @property
    def income_per_head(self) -> Decimal | None:
        if self.income is None or not self.members:
            return None
        return (self.income / self.members).quantize(Decimal("0.01"))


def id_number_of(case: Case, flow: Flow) -> str | None:
    """The ID number answered in ``case``, if its flow asks one and it was answered."""
    for step in flow.steps:
        if step.type == "id_number":
            value = case.state.answers.get(step.id)
            if value:
                return str(value)
    return None


def age_on(born: dt.date, today: dt.date) -> int:
    """Whole years from ``born`` to ``today``, as the flow's ``age()`` counts them."""
    years = today.year - born.year
    if (today.month, today.day) < (born.month, born.day):
        years -= 1
    return max(0, years)


def facts_of(case: Case, flow: Flow, lang: str, today: dt.date | None = None) -> Facts:
    """The facts of ``case``; choice labels in ``lang`` (one of the flow's languages)."""
    answers = case.state.answers
    if case.is_clue:
        return Facts()

    def step(step_id: str) -> Step | None:
        return flow.step(step_id) if flow.has_step(step_id) else None

    def said(step_id: str) -> str:
        value = answers.get(step_id)
        return strip_bidi(str(value)).strip() if value not in (None, "") else ""

    def label(step_id: str) -> str:
        s, value = step(step_id), answers.get(step_id)
        if s is None or value is None:
            return ""
        choice = s.choice(str(value)) if s.choices else None
        return flow.pick(choice.label, lang) if choice else str(value)

    for_whom = next((said(s.id) for s in flow.tagged("name") if said(s.id)), "")
    by_self: bool | None = None
    applicant = relation = ""
    if step(APPLYING_FOR) is not None and answers.get(APPLYING_FOR) is not None:
        by_self = answers.get(APPLYING_FOR) == SELF
        if not by_self:
            applicant = said(APPLICANT_NAME)
            relation = (
                said(RELATIONSHIP_OTHER)
                or (label(RELATIONSHIP) if answers.get(RELATIONSHIP) != "other" else "")
                or said(HELPER_ROLE)
                or label(APPLYING_FOR)
            )
    age = None
    born = answers.get(BIRTH_DATE)
    if step(BIRTH_DATE) is not None and born:
        try:
            age = age_on(dt.date.fromisoformat(str(born)[:10]), today or dt.date.today())
        except ValueError:
            age = None
    authority = label(AUTHORITY)
    if authority and said(AUTHORITY_NAME):
        authority += " · " + said(AUTHORITY_NAME)
    return Facts(
        for_whom=for_whom,
        by_self=by_self,
        applicant=applicant,
        relation=relation,
        age=age,
        id_number=id_number_of(case, flow),
        income=_decimal(answers.get(MONTHLY_INCOME)) if step(MONTHLY_INCOME) else None,
        members=_count(answers.get(HOUSEHOLD_SIZE)) if step(HOUSEHOLD_SIZE) else None,
        authority=authority,
    )


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _count(value: Any) -> int | None:
    number = _decimal(value)
    return int(number) if number is not None and number > 0 else None
