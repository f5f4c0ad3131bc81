"""Reading what people type: numbers, dates and phone numbers as rural applicants write them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.flow.values import mask, parse_date, parse_number, parse_phone

# --- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", Decimal(12)),
        (" 7 ", Decimal(7)),
        ("0", Decimal(0)),
        ("1,200", Decimal(1200)),
        ("1，200", Decimal(1200)),
        ("3.5", Decimal("3.5")),
        ("-2", Decimal(-2)),
        # full-width digits from a Chinese keyboard
        ("３", Decimal(3)),
        ("１２３４", Decimal(1234)),
        ("３.５", Decimal("3.5")),
        # Chinese numerals
        ("两", Decimal(2)),
        ("二", Decimal(2)),
        ("十", Decimal(10)),
        ("十五", Decimal(15)),
        ("二十", Decimal(20)),
        ("九十九", Decimal(99)),
        ("一百零五", Decimal(105)),
        ("五千", Decimal(5000)),
        ("两万五千", Decimal(25000)),
        ("二十三万", Decimal(230000)),
        # the colloquial short forms: the digit after the unit is the next unit down
        ("两千五", Decimal(2500)),
        ("三百五", Decimal(350)),
        ("一万五", Decimal(15000)),
        ("一万两千五", Decimal(12500)),
        ("两千零五", Decimal(2005)),
        ("一万零五", Decimal(10005)),
        # units people add after the number
        ("3000元", Decimal(3000)),
        ("５０００ 元", Decimal(5000)),
        ("3人", Decimal(3)),
        ("4口", Decimal(4)),
        ("四口人", Decimal(4)),  # the answer to 家里有几口人？
        ("4口人", Decimal(4)),
        ("两个人", Decimal(2)),
        ("3 个人", Decimal(3)),
        ("500块钱", Decimal(500)),
        ("两个", Decimal(2)),
        ("800 yuan", Decimal(800)),
        ("6 people", Decimal(6)),
    ],
)
def test_parse_number_reads_the_usual_forms(text: str, expected: Decimal | None) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "abc", "元", "1e5", "1.2.3", "12abc", "五个半", "三四", "nan", "inf", "--1"]
)
def test_parse_number_refuses_what_is_not_a_number(text: str) -> None:
    assert parse_number(text) is None


# --- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-05",
        "2024-3-5",
        "2024/3/5",
        "2024.3.5",
        "2024年3月5日",
        "2024年3月5号",
        "2024 年 3 月 5 日",
        "20240305",
        "5.3.2024",
        "05/03/2024",
        "２０２４－０３－０５",
        "２０２４年３月５日",
    ],
)
def test_parse_date_reads_the_usual_forms(text: str) -> None:
    assert parse_date(text) == dt.date(2024, 3, 5)


def test_parse_date_accepts_a_leap_day_only_in_a_leap_year() -> None:
    assert parse_date("2024-2-29") == dt.date(2024, 2, 29)
    assert parse_date("2023-02-29") is None


@pytest.mark.parametrize(
    "text", ["", "yesterday", "昨天", "2024-02-30", "2024-13-01", "2024-00-10", "24-3-5", "3月5日"]
)
def test_parse_date_refuses_what_is_not_a_date(text: str) -> None:
    assert parse_date(text) is None


# --- phone numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        # landlines with their area code
        ("010-65521234", "01065521234"),
        ("(0991) 123 4567", "09911234567"),
        ("+86 10 6552 1234", "01065521234"),
        # another country keeps its prefix
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_parse_phone_normalises(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "12345",  # too short for anything
        "1381234567",  # a mobile number with a digit missing
        "12812345678",  # 12x is not a mobile prefix
        "+1 5",
        "call me",
        "138 1234 5678 ext",
    ],
)
def test_parse_phone_refuses_what_is_not_a_phone_number(text: str) -> None:
    assert parse_phone(text) is None


# --- masking ---------------------------------------------------------------------------


def test_mask_keeps_the_start_and_end_of_a_mobile_number() -> None:
    masked = mask("13812345678")
    assert masked == "138••••••78"
    assert len(masked) == 11
    assert "1234" not in masked


def test_mask_hides_short_values_entirely() -> None:
    assert mask("abcd") == "••••"
    assert mask("") == ""


def test_mask_of_a_medium_value_keeps_one_leading_character() -> None:
    assert mask("张三丰先生") == "张••先生"
