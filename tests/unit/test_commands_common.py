"""What the commands share: times from the command line, and `--now`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from herald.commands.common import iso_time, now_from, parse_time
from herald.problems import InputError


def test_a_time_with_a_zone_is_read_in_utc() -> None:
    # Given times with a Z and with an offset / When read / Then both are the same UTC time
    expected = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)
    assert iso_time("2021-02-09T08:00Z") == expected
    assert iso_time("2021-02-09T09:00+01:00") == expected
    assert parse_time("2021-02-09T08:00:00Z", "--from") == expected


def test_a_time_without_a_zone_is_an_argument_error_that_shows_the_form() -> None:
    # Given a time with no zone, When argparse reads it
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        iso_time("2021-02-09T08:00")

    # Then the error says it is no time and how to write one
    assert str(raised.value).startswith(
        "'2021-02-09T08:00' is not a time: write ISO 8601 with a zone, like 2021-02-09T08:00Z"
    )


def test_a_bad_time_for_an_option_is_a_command_line_problem_naming_it() -> None:
    # Given text that is no time, When it is read for an option
    with pytest.raises(InputError) as raised:
        parse_time("soon", "--to")

    # Then the one problem is on the command line and names the option
    (problem,) = raised.value.problems
    assert str(problem) == "<command line>:1: --to: Invalid isoformat string: 'soon'"


def test_now_is_the_time_given_else_the_clock() -> None:
    # Given a --now, and no --now / When the commands ask for now
    given = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)
    told = now_from(argparse.Namespace(now=given))
    clock = now_from(argparse.Namespace(now=None))

    # Then the given time wins; else the wall clock's, in UTC
    assert told == given
    assert clock.tzinfo is UTC
    assert abs(datetime.now(UTC) - clock) < timedelta(minutes=1)
