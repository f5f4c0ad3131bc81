"""The intake lifecycle after submit: the review, referrals, clues and erasure requests.

The parts, each over the store and the people who act:

- ``identity``: languages, staff names and roles (``People``, ``Denied``);
- ``actions``: the actions by name and when each is open (``Action``, ``allowed``);
- ``decisions``: the queue, the card, claiming, asking and deciding;
- ``referrals``: referrals written before the plans (one message, one report), still
  worked by their partner; referring now adds a measure to the plan (``plans.refer``);
- ``clues``: a partner's clue, a small built-in flow (bot/flows/clue.yaml);
- ``deletions``: the applicant's request to erase a sent intake;
- ``finding``: /find and the filtered queue (``filters``: the words it takes), in pages;
- ``notices``: what people are told later, with its kind (bot/store/outbox.py);
- ``supervision``: a supervisor's: assigning, approving proposed decisions, reopening;
- ``desk``: actions that take more than one tap (prompts, picks, confirmations);
- ``deadlines`` and ``digest``: what is due when, and the morning digest of it;
- ``checkins``: return visits to the household after the decision (回访);
- ``plans``: the household's plan of help measures (一户一策), the card's refer, and the
  partners' side of it (``measure_terms``: states, kinds of body, and their words);
- ``terms``: reasons, outcomes, events and amounts.

``Casework`` builds them once and passes the common calls through, so the channel and
the tests hold one object.
"""

from __future__ import annotations

from bot.casework.actions import Action, Actor, Step, allowed, allowed_on_referral
from bot.casework.checkins import Checkins
from bot.casework.clues import Clues
from bot.casework.decisions import Card, Decisions, QueuePage
from bot.casework.deletions import Deletions
from bot.casework.desk import Desk
from bot.casework.digest import Digests
from bot.casework.finding import Finding, Page, UnknownFilter
from bot.casework.identity import Denied, People
from bot.casework.notices import Kind, Notices
from bot.casework.plans import Plans
from bot.casework.referrals import Referrals
from bot.casework.supervision import Supervision
from bot.casework.terms import (
    CLUE_FIELDS,
    DECLINE_REASONS,
    DONE_OUTCOMES,
    fen_to_yuan,
    parse_amount,
)
from bot.config import Settings
from bot.evidence import Evidence
from bot.i18n import I18n
from bot.messages import Fmt
from bot.store import Store
from bot.store.casework import Case, Conflict
from bot.transcribe import transcriber_for

__all__ = [
    "CLUE_FIELDS",
    "DECLINE_REASONS",
    "DONE_OUTCOMES",
    "Action",
    "Actor",
    "Card",
    "Case",
    "Casework",
    "Conflict",
    "Denied",
    "Finding",
    "Kind",
    "Page",
    "QueuePage",
    "Step",
    "UnknownFilter",
    "allowed",
    "allowed_on_referral",
    "fen_to_yuan",
    "parse_amount",
]


class Casework:
    """Every part of casework over one store. Texts are written in ``fmt``, the markup of
    the channel that shows them (``HTML`` for Telegram): the channel chooses it."""

    def __init__(self, store: Store, i18n: I18n, settings: Settings, *, fmt: Fmt) -> None:
        self.store = store
        self.i18n = i18n
        self.settings = settings
        self.fmt = fmt
        self.people = People(store, i18n)
        # Files applicants send, kept in our store; transcription off unless configured.
        self.evidence = Evidence(store, transcriber_for(settings))
        self.notices = Notices(self.people, i18n, settings, fmt)
        self.decisions = Decisions(store, self.people, self.notices, settings)
        self.referrals = Referrals(store, self.people, self.notices, self.decisions, fmt)
        self.deletions = Deletions(store, self.people, self.notices, self.decisions)
        self.clues = Clues(store, self.people, self.notices, fmt)
        self.supervision = Supervision(store, self.people, self.notices, self.decisions)
        self.digests = Digests(store, self.people, settings, fmt)
        self.checkins = Checkins(store, self.people, settings, fmt)
        self.decisions.checkins = self.checkins
        self.finding = Finding(store, self.people, settings)
        self.plans = Plans(store, self.people, self.decisions, self.notices, fmt)
        self.desk = Desk(
            store,
            self.decisions,
            self.referrals,
            self.deletions,
            self.clues,
            self.supervision,
            self.plans,
        )
        # The calls the channel and the tests make most, passed through.
        self.seen = self.people.seen
        self.tr_for = self.people.tr_for
        self.lang_of = self.people.lang_of
        self.name_of = self.people.name_of
        self.queue = self.decisions.queue
        self.card = self.decisions.card
        self.claim = self.decisions.claim
        self.release = self.decisions.release
        self.ask = self.decisions.ask
        self.reply = self.decisions.reply
        self.take_piece = self.decisions.take_piece
        self.finish_reply = self.decisions.finish_reply
        self.close_question = self.decisions.close_question
        self.reveal_id = self.decisions.reveal_id
        self.approve = self.decisions.approve
        self.decline = self.decisions.decline
        self.note = self.decisions.note
        self.assign = self.supervision.assign
        self.confirm_decision = self.supervision.confirm
        self.return_decision = self.supervision.return_decision
        self.reopen = self.supervision.reopen
        self.correctable = self.decisions.correctable
        self.ask_correction = self.decisions.ask_correction
        self.request_correction = self.decisions.request_correction
        self.correct_answers = self.decisions.correct_answers
        self.find = self.finding.find
        self.refer = self.plans.refer
        self.acknowledge = self.referrals.acknowledge
        self.report_done = self.referrals.report_done
        self.return_referral = self.referrals.return_referral
        self.open_referrals = self.referrals.open_referrals
        self.send_clue = self.clues.send_clue
        self.alerts_for_new = self.notices.alerts_for_new
        self.alerts_for = self.notices.alerts_for
        self.request_deletion = self.deletions.request_deletion
        self.erase = self.deletions.erase
        self.refuse_deletion = self.deletions.refuse_deletion
