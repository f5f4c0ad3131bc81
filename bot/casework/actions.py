"""What staff may do, named: the actions on an intake and on a referral, and when each is open.

The core says which actions a person may take now (``allowed``, ``allowed_on_referral``);
channels draw their buttons from that list and never re-state the rules. Offering an
action is not permitting it: every action checks the actor's role and the record's state
again in the database when it runs (bot/casework/desk.py and the parts it calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.regions import NOWHERE, Scope
from bot.store.casework import Case, Referral
from bot.store.intakes import OPEN_STATUSES
from bot.store.measures import PLANNABLE

# Statuses in which a decision (ask, approve, decline) can be taken on a claimed intake.
DECIDABLE = ("in_review", "awaiting_applicant")
# Decided statuses: a supervisor may reopen such an intake, with a reason.
DECIDED = ("approved", "declined")
# Referral statuses in which the partner still has something to do.
REFERRAL_OPEN = ("sent", "acknowledged")

CASEWORKER = "caseworker"
SUPERVISOR = "supervisor"
PARTNER = "partner"


class Action(StrEnum):
    """Something a caseworker does on an intake, or a partner on a referral."""

    CLAIM = "claim"
    TAKE_OVER = "take_over"
    ASK = "ask"
    APPROVE = "approve"
    DECLINE = "decline"
    RELEASE = "release"
    ERASE = "erase"  # complete the applicant's request to delete their data
    REFUSE_DELETION = "refuse_deletion"
    REFER = "refer"
    NOTE = "note"
    SHOW_ATTACHMENTS = "show_attachments"
    REVEAL_ID = "reveal_id"  # show the ID number the card masks (an audited read)
    CLOSE_QUESTION = "close_question"  # stop waiting for the applicant's answer
    PRINT_FORM = "print_form"  # the printable case form, for the paper file (an audited read)
    # the supervisor's
    ASSIGN = "assign"  # to a caseworker of the intake's region
    CONFIRM_DECISION = "confirm_decision"  # a caseworker's proposed decision, as proposed
    RETURN_DECISION = "return_decision"  # back to the caseworker, with a note
    REOPEN = "reopen"  # a decided intake back in review, with a reason
    PLAN = "plan"  # the household's plan of help measures (bot/casework/plans.py)
    # the partner's
    ACKNOWLEDGE = "acknowledge"
    REPORT_DONE = "report_done"
    RETURN = "return"
    SEND_CLUE = "send_clue"


class Step(StrEnum):
    """How far an action has come: most are done at once (START); some go on with a pick
    from a list, the staff's own words instead, or a confirmation (bot/casework/desk.py)."""

    START = "start"
    PICK = "pick"
    OWN_WORDS = "own_words"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class Actor:
    """A person acting, with the roles the database gives them now and the regions each
    covers (a role missing from ``scopes`` covers every region)."""

    user_id: int
    roles: frozenset[str]
    scopes: Mapping[str, Scope] = field(default_factory=dict)

    def scope(self, role: str) -> Scope:
        """The regions this person covers in ``role``: none without the role."""
        if role not in self.roles:
            return NOWHERE
        return self.scopes.get(role, Scope())


def allowed(
    case: Case, actor: Actor, *, files: int = 0, id_number: bool = False
) -> tuple[Action, ...]:
    """The actions ``actor`` may take on ``case`` now, in the order they are offered: a
    caseworker's of their regions, then a supervisor's of theirs."""
    works = actor.scope(CASEWORKER).covers(case.region)
    supervises = actor.scope(SUPERVISOR).covers(case.region)
    if not works and not supervises:
        return ()
    out: list[Action] = []
    if works:
        out += _caseworker(case, actor)
    if supervises:
        if case.status in OPEN_STATUSES and not case.anonymised_at:
            out.append(Action.ASSIGN)
        if case.proposal_id is not None:
            out += [Action.CONFIRM_DECISION, Action.RETURN_DECISION]
        if case.status in DECIDED and not case.anonymised_at and not case.is_test:
            out.append(Action.REOPEN)
    if works:
        out.append(Action.NOTE)
    if files:
        out.append(Action.SHOW_ATTACHMENTS)
    if works and id_number and not case.anonymised_at:
        out.append(Action.REVEAL_ID)
    if not case.anonymised_at:  # whoever may read the card may print it
        out.append(Action.PRINT_FORM)
    return tuple(out)


def _caseworker(case: Case, actor: Actor) -> list[Action]:
    out: list[Action] = []
    if case.status in OPEN_STATUSES:
        if case.assignee is None:
            out.append(Action.CLAIM)
        elif case.assignee != actor.user_id:
            out.append(Action.TAKE_OVER)
        else:
            # While a decision waits for a supervisor, it is neither made again nor asked on.
            if case.proposal_id is None:
                if not case.is_clue:
                    out.append(Action.ASK)
                if case.status == "awaiting_applicant":
                    out.append(Action.CLOSE_QUESTION)
                out += [Action.APPROVE, Action.DECLINE]
            out.append(Action.RELEASE)
    if case.deletion_requested_at and not case.anonymised_at:
        out += [Action.ERASE, Action.REFUSE_DELETION]
    # Referring adds a measure to the household's plan, which only the caseworker who holds
    # the intake builds. A test intake is never sent on: a partner would act on a household
    # that is not.
    if (
        case.assignee == actor.user_id
        and case.status in PLANNABLE
        and not case.anonymised_at
        and not case.is_test
    ):
        out.append(Action.REFER)
        # After the decision, the whole plan too.
        if case.status in DECIDED:
            out.append(Action.PLAN)
    return out


def referral_actions(status: str) -> tuple[Action, ...]:
    """What the referral's partner may do on a referral in ``status``."""
    if status not in REFERRAL_OPEN:
        return ()
    first = (Action.ACKNOWLEDGE,) if status == "sent" else ()
    return (*first, Action.REPORT_DONE, Action.RETURN)


def allowed_on_referral(referral: Referral, actor: Actor) -> tuple[Action, ...]:
    """The actions ``actor`` may take on ``referral`` now: only its own partner has any."""
    if PARTNER not in actor.roles or referral.partner_id != actor.user_id:
        return ()
    return referral_actions(referral.status)
