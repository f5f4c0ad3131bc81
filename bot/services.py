"""The core's services, built once at start and passed to every channel.

Telegram (telegram_channel/app.py) and the web chat (web_channel/app.py) run on the same
``Services``: one store, one interview, one casework, so an applicant of either channel
lands in the same queue in front of the same caseworkers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.administration import Administration
from bot.casework import Casework
from bot.config import Settings
from bot.flow.sandbox import FlowChecker
from bot.flowadmin import FlowAdmin
from bot.housekeeping import Housekeeping
from bot.i18n import Hotlines, I18n
from bot.interview import Interview
from bot.messages import HTML
from bot.mydata import MyData
from bot.people import People
from bot.store import Store


@dataclass
class Services:
    """What handlers depend on; built once and passed in, never imported as globals."""

    settings: Settings
    store: Store
    i18n: I18n
    interview: Interview
    casework: Casework
    housekeeping: Housekeeping
    # Checks flow files admins upload, in a child process with a time and memory budget.
    flow_checker: FlowChecker = field(default_factory=FlowChecker)
    # The core's services built on the ones above.
    people: People = field(init=False)
    mydata: MyData = field(init=False)
    administration: Administration = field(init=False)
    flows: FlowAdmin = field(init=False)

    def __post_init__(self) -> None:
        self.people = People(self.store, self.i18n)
        self.mydata = MyData(self.store)
        self.administration = Administration(self.store, self.housekeeping)
        self.flows = FlowAdmin(self.store, self.flow_checker)


async def open_services(settings: Settings) -> Services:
    # Fails loudly on a missing catalog, before anything starts; texts name the numbers
    # the settings give (INTAKE_LEGAL_AID_HOTLINE, INTAKE_PROCURATORATE_HOTLINE).
    i18n = I18n.load(hotlines=Hotlines.of(settings))
    store = await Store.open(
        settings.db_path,
        admin_ids=settings.admin_ids,
        secret=settings.secret_key,
        default_region=settings.default_region,
        files_dir=settings.files_dir,
    )
    # Telegram reads HTML; the web chat shows only its bold and italics (web_channel/markup.py).
    casework = Casework(store, i18n, settings, fmt=HTML)
    interview = Interview(store, i18n, alerts=casework.alerts_for, evidence=casework.evidence)
    housekeeping = Housekeeping(store, i18n, settings)
    await housekeeping.refresh_flow_values()  # flow texts name hotlines and days: fill them
    return Services(settings, store, i18n, interview, casework, housekeeping)
