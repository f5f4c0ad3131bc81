"""The blind index without Telegram: how names and numbers are normalised, that the index
has a key of its own, that another key finds nothing, that a correction moves what an
intake is found by, and that erasure and anonymisation take its rows away."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.casework import Casework, Conflict
from bot.casework.filters import Vocabulary, read
from bot.config import Settings
from bot.crypto import Cipher
from bot.flow.engine import Screening
from bot.flow.loader import load_flow_text as load_flow
from bot.housekeeping import Housekeeping
from bot.i18n import I18n
from bot.lookup import ID, NAME, PHONE, PHONE4, normal_name, query_terms, terms
from bot.messages import HTML
from bot.store import Store
from tests.backends import open_store, stored_bytes
from tests.helpers import sent_intake

FLOW = """
id: find-test
languages: [zh, en]
title: {zh: 查找测试, en: Find test}
steps:
  - id: consent
    type: consent
    text: {zh: 同意吗？, en: Do you agree?}
  - id: name
    type: text
    tags: [name]
    text: {zh: 姓名？, en: Name?}
  - id: helper
    type: text
    text: {zh: 您自己叫什么？, en: Your own name?}
  - id: county
    type: choice
    text: {zh: 哪个县？, en: Which county?}
    choices:
      - {value: "653222", label: {zh: 和田县, en: Hotan County}}
      - {value: "653225", label: {zh: 策勒县, en: Qira County}}
  - id: id_number
    type: id_number
    sensitive: true
    text: {zh: 身份证号？, en: ID number?}
  - id: phone
    type: phone
    sensitive: true
    text: {zh: 电话？, en: Phone?}
priority:
  - {id: minor, when: "true", points: 3, label: {zh: 涉及未成年人, en: Involves a minor}}
  - {id: veteran, when: "true", points: 3, label: {zh: 涉及退役军人, en: Involves a retired soldier}}
"""

ID_NUMBER = "11010519491231002X"
PHONE_NO = "13912345678"
CW, CW_QIRA = 2, 3


def test_names_are_compared_without_spaces_widths_case_or_dots() -> None:
    assert normal_name(" 李 大山 ") == normal_name("李大山") == "李大山"
    assert normal_name("Ｌｉ　Ｄａｓｈａｎ") == normal_name("li dashan") == "lidashan"
    assert normal_name("买买提·艾力") == normal_name("买买提 艾力")
    assert normal_name("\u202eAli") == "ali"  # a bidi control is no part of a name
    assert normal_name("   ") == ""


def test_what_a_search_looks_for() -> None:
    assert query_terms("5678") == [(PHONE4, "5678")]
    assert query_terms("５６７８") == [(PHONE4, "5678")]  # full-width digits
    assert query_terms("139 1234 5678") == [(PHONE, PHONE_NO)]
    assert query_terms("+86 139-1234-5678") == [(PHONE, PHONE_NO)]
    assert query_terms("110105 19491231 002x") == [(ID, ID_NUMBER)]
    assert query_terms("李 大山") == [(NAME, "李大山")]
    assert query_terms("12") == []  # digits that are no number we keep, and no name


def test_an_intake_is_found_by_its_name_phone_last_digits_and_id_number() -> None:
    flow = load_flow(FLOW)
    answers = {"name": "李大山", "helper": "王五", "id_number": ID_NUMBER, "phone": PHONE_NO}
    assert terms(flow, answers) == {
        (NAME, "李大山"),
        (PHONE, PHONE_NO),
        (PHONE4, "5678"),
        (ID, ID_NUMBER),
    }  # the helper's name is not tagged `name`: not indexed


def test_the_index_key_is_its_own() -> None:
    """HKDF of the database key with the index's own label: not the sealing key, not the
    key of erased people's pseudonyms; the kind is part of what is hashed."""
    key = os.urandom(32)
    cipher = Cipher(key)
    label = b"intake-bot: blind index of names, phones and ID numbers, HMAC-SHA256, v1"
    index_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(key)
    want = hmac.new(index_key, b"phone4\x005678", hashlib.sha256).digest()[:16]
    assert cipher.blind(PHONE4, "5678") == want
    pseudonyms = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"intake-bot: pseudonyms of erased people, HMAC-SHA256, v1",
    ).derive(key)
    assert index_key != pseudonyms
    assert hmac.new(key, b"phone4\x005678", hashlib.sha256).digest()[:16] != want
    assert cipher.blind(NAME, "5678") != cipher.blind(PHONE4, "5678")
    assert Cipher(os.urandom(32)).blind(PHONE4, "5678") != want


def test_filter_words_in_the_readers_language_and_english() -> None:
    flow = load_flow(FLOW)
    zh = Vocabulary.of(I18n.load().tr("zh"), flow)
    got = read(zh, "和田县 超期").listing
    assert got is not None and got.regions == ("653222",) and got.overdue
    got = read(zh, "Qira County decided").listing
    assert got is not None and got.regions == ("653225",)
    assert set(got.statuses) == {"approved", "declined"}
    got = read(zh, "未成年人").listing  # a part of the rule's label
    assert got is not None and got.groups == ("minor",)
    assert read(zh, "veteran 653222").listing is not None
    assert read(zh, "和田县 nonsense").unknown == ("nonsense",)


@dataclass
class World:
    store: Store
    work: Casework
    path: Path
    settings: Settings


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    path = Path(db_url)
    settings = Settings(token="1:x", db_path=db_url, secret_key=_KEY)
    store = await open_store(settings.db_path, tmp_path, secret=_KEY)
    w = World(store, Casework(store, I18n.load(), settings, fmt=HTML), path, settings)
    try:
        await store.flows.publish(FLOW)
        await store.roles.grant(CW, "caseworker", regions=["6532"])
        await store.roles.grant(CW_QIRA, "caseworker", regions=["653225"])
        yield w
    finally:
        # A test may have reopened the store: close the one it left (each open store
        # holds threads that would keep the test run from ending).
        await w.store.close()


_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
_applicants = iter(range(1000, 100000))


async def sent(w: World, name: str, phone: str = PHONE_NO, region: str = "653222") -> int:
    answers = {"consent": True, "name": name, "county": region, "id_number": ID_NUMBER}
    answers["phone"] = phone
    intake_id, _ref = await sent_intake(
        w.store, answers, applicant=next(_applicants), screening=Screening((), (), 3, ("minor",))
    )
    # Put in its county directly: routing by the flow is tested in test_region_flow.py.
    await w.store.db.execute("UPDATE intakes SET region = ? WHERE id = ?", (region, intake_id))
    return intake_id


async def found(w: World, actor: int, text: str) -> list[int]:
    page = await w.work.find(actor, text, 50)
    return [] if page is None else [c.id for c, _flow in page.entries]


async def test_found_in_ones_regions_and_never_with_another_key(world: World) -> None:
    w = world
    one = await sent(w, "李大山")
    assert await found(w, CW, "5678") == [one]
    assert await found(w, CW, ID_NUMBER.lower()) == [one]
    assert await found(w, CW, "李 大山") == [one]
    assert await found(w, CW_QIRA, "5678") == []  # another county's: nothing
    rows = await w.store.db.fetchall("SELECT kind, digest FROM lookup WHERE intake_id = ?", (one,))
    assert sorted(r["kind"] for r in rows) == ["id", "name", "phone", "phone4"]
    raw = await stored_bytes(w.store)
    for secret in (PHONE_NO, "5678", ID_NUMBER, "李大山"):
        assert secret.encode() not in raw
    # Another key's hashes match nothing.
    other = Cipher(os.urandom(32))
    wrong = [other.blind(PHONE4, "5678"), other.blind(ID, ID_NUMBER), other.blind(NAME, "李大山")]
    for digest in wrong:
        assert await w.store.db.fetchone("SELECT 1 FROM lookup WHERE digest = ?", (digest,)) is None


async def test_a_correction_moves_the_index(world: World) -> None:
    w = world
    one = await sent(w, "李大山")
    await w.work.correct_answers(CW, one, {"phone": "13800001111", "name": "李大善"})
    assert await found(w, CW, "5678") == []
    assert await found(w, CW, "李大山") == []
    assert await found(w, CW, "1111") == [one]
    assert await found(w, CW, "李大善") == [one]
    assert await found(w, CW, ID_NUMBER) == [one]  # what was not corrected still finds it
    with pytest.raises(Conflict):  # another county's caseworker cannot
        await w.work.correct_answers(CW_QIRA, one, {"phone": "13800002222"})
    with pytest.raises(Conflict):  # nor write what is no phone number
        await w.work.correct_answers(CW, one, {"phone": "not a number"})
    assert await found(w, CW, "1111") == [one]


async def test_erasure_and_anonymising_take_the_index_rows(world: World) -> None:
    w = world
    erased, old = await sent(w, "李大山"), await sent(w, "张三", "13700009999")
    await w.work.request_deletion(
        (await w.store.cases.get(erased)).applicant_id,  # type: ignore[union-attr]
        erased,
    )
    await w.work.erase(CW, erased)
    assert await w.store.db.fetchall("SELECT 1 FROM lookup WHERE intake_id = ?", (erased,)) == []
    assert await found(w, CW, "李大山") == []
    await w.store.db.execute(
        "UPDATE intakes SET status = 'approved', decided_at = '2000-01-01T00:00:00Z' WHERE id = ?",
        (old,),
    )
    assert await Housekeeping(w.store, I18n.load(), w.settings).anonymise_decided() == 1
    assert await w.store.db.fetchall("SELECT 1 FROM lookup WHERE intake_id = ?", (old,)) == []
    assert await found(w, CW, "9999") == []


async def test_the_index_is_made_again_at_start_for_intakes_sent_before(
    world: World, tmp_path: Path
) -> None:
    """A database from before the index (or re-keyed) gets one at start."""
    w = world
    one = await sent(w, "李大山")
    await w.store.db.execute("DELETE FROM lookup")
    await w.store.db.execute("DELETE FROM settings WHERE key = 'lookup_key'")
    await w.store.close()
    w.store = await open_store(w.settings.db_path, tmp_path, secret=_KEY)
    w.work = Casework(w.store, I18n.load(), w.settings, fmt=HTML)
    assert await found(w, CW, "5678") == [one]
    row = await w.store.db.fetchone("SELECT COUNT(*) AS n FROM lookup")
    assert row is not None and row["n"] == 4


async def test_a_partners_clue_is_found_by_whom_it_is_about(world: World) -> None:
    w = world
    clue_id, _ref = await w.store.cases.add_clue(
        partner_id=77,
        flow_id="find-test",
        flow_version=1,
        lang="zh",
        clue={"who": "赵 六", "where": "和田县", "what": "受伤"},
        priority=0,
        notify=lambda _id, _ref: [],
    )
    await w.store.db.execute("UPDATE intakes SET region = '653222' WHERE id = ?", (clue_id,))
    assert await found(w, CW, "赵六") == [clue_id]
