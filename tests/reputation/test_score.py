"""The reputation score: properties (monotonicity, noise bound, grades, caps) and examples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.core.i18n import translations
from compliance.reputation import factors as f
from compliance.reputation.model import (
    AuthResult,
    DmarcResult,
    Factor,
    Reputation,
    ReputationInputs,
)
from compliance.reputation.score import (
    CAP_FLOOR,
    GRADE_WIDTH,
    NO_DATA_SCORE,
    compute_score,
    grade_for,
)

# Hypothesis examples per property: each example costs about 10 ms to draw,
# so the whole file stays within seconds.
EXAMPLES = 50
PER_INPUT_EXAMPLES = 30

# compute_score rounds the score to 6 decimals, so two rounded scores can differ
# from the exact ones by this much in total.
ROUNDING = 2e-6

AUTH_RANK: dict[AuthResult, int] = {"pass": 1, "fail": 0, "missing": 0}
DMARC_RANK: dict[DmarcResult, int] = {"enforced": 2, "monitoring": 1, "missing": 0, "invalid": 0}

CLEAN = ReputationInputs(
    sent=10_000,
    hard_bounces=20,
    complaints=2,
    gmail_spam_rate=0.0002,
    unsubscribes=40,
    opens=3_000,
    machine_opens=600,
    spf="pass",
    dkim="pass",
    dmarc="enforced",
    footers_checked=10,
    footers_compliant=10,
    recipients_screened=10_000,
    recipients_with_basis=10_000,
    recipients_inactive=1_000,
    spam_trap_hits=0,
    unsubscribe_delay_hours=2.0,
    dsr_closed=3,
)


@st.composite
def counts_below(draw: st.DrawFn, total: int, share: float) -> int:
    """Draw a count from 0 to ``total``, often a small share of it, where the ramps are."""
    small = min(total, int(total * share) + 1)
    return draw(st.integers(0, total) | st.integers(0, small))


@st.composite
def reputation_inputs(draw: st.DrawFn) -> ReputationInputs:
    sent = draw(st.integers(0, 200_000))
    opens = draw(counts_below(sent, 0.3))
    screened = draw(st.integers(0, 50_000))
    footers_checked = draw(st.integers(0, 20))
    dsr_closed = draw(st.integers(0, 30))
    return ReputationInputs(
        sent=sent,
        hard_bounces=draw(counts_below(sent, 0.03)),
        complaints=draw(counts_below(sent, 0.005)),
        gmail_spam_rate=draw(st.none() | st.floats(0.0, 0.01)),
        unsubscribes=draw(counts_below(sent, 0.03)),
        opens=opens,
        machine_opens=draw(st.none() | counts_below(opens, 1.0)),
        spf=draw(st.none() | st.sampled_from(list(AUTH_RANK))),
        dkim=draw(st.none() | st.sampled_from(list(AUTH_RANK))),
        dmarc=draw(st.none() | st.sampled_from(list(DMARC_RANK))),
        footers_checked=footers_checked,
        footers_compliant=draw(st.integers(0, footers_checked)),
        recipients_screened=screened,
        recipients_with_basis=screened - draw(counts_below(screened, 0.15)),
        recipients_inactive=draw(counts_below(screened, 0.6)),
        spam_trap_hits=draw(st.integers(0, 6)),
        unsubscribe_delay_hours=draw(st.none() | st.floats(0.0, 400.0)),
        dsr_closed=dsr_closed,
        dsr_closed_late=draw(st.integers(0, dsr_closed)),
        dsr_open_overdue=draw(st.integers(0, 3)),
    )


STEP = st.integers(1, 500)
Result = TypeVar("Result", bound=str)
Worsen = Callable[[ReputationInputs, st.DataObject], ReputationInputs]


def worse_auth(
    current: Result | None, ranks: dict[Result, int], data: st.DataObject
) -> Result | None:
    if current is None:
        return None
    return data.draw(st.sampled_from([v for v, rank in ranks.items() if rank <= ranks[current]]))


def worse_gmail(inputs: ReputationInputs, data: st.DataObject) -> ReputationInputs:
    if inputs.gmail_spam_rate is None:
        return inputs
    rate = min(1.0, inputs.gmail_spam_rate + data.draw(st.floats(0.0, 0.005)))
    return replace(inputs, gmail_spam_rate=rate)


def worse_delay(inputs: ReputationInputs, data: st.DataObject) -> ReputationInputs:
    if inputs.unsubscribe_delay_hours is None:
        return inputs
    hours = inputs.unsubscribe_delay_hours + data.draw(st.floats(0.0, 300.0))
    return replace(inputs, unsubscribe_delay_hours=hours)


def more_machine_opens(inputs: ReputationInputs, data: st.DataObject) -> ReputationInputs:
    if inputs.machine_opens is None:
        return inputs
    return replace(inputs, machine_opens=inputs.machine_opens + data.draw(STEP))


# One way to make each input worse while every other input stays equal.
WORSENINGS: dict[str, Worsen] = {
    "hard_bounces": lambda i, d: replace(i, hard_bounces=i.hard_bounces + d.draw(STEP)),
    "complaints": lambda i, d: replace(i, complaints=i.complaints + d.draw(STEP)),
    "gmail_spam_rate": worse_gmail,
    "unsubscribes": lambda i, d: replace(i, unsubscribes=i.unsubscribes + d.draw(STEP)),
    "opens": lambda i, d: replace(i, opens=max(0, i.opens - d.draw(STEP))),
    "machine_opens": more_machine_opens,
    "spf": lambda i, d: replace(i, spf=worse_auth(i.spf, AUTH_RANK, d)),
    "dkim": lambda i, d: replace(i, dkim=worse_auth(i.dkim, AUTH_RANK, d)),
    "dmarc": lambda i, d: replace(i, dmarc=worse_auth(i.dmarc, DMARC_RANK, d)),
    "footers_compliant": lambda i, d: replace(
        i, footers_compliant=max(0, i.footers_compliant - d.draw(STEP))
    ),
    "recipients_with_basis": lambda i, d: replace(
        i, recipients_with_basis=max(0, i.recipients_with_basis - d.draw(STEP))
    ),
    "recipients_inactive": lambda i, d: replace(
        i, recipients_inactive=i.recipients_inactive + d.draw(STEP)
    ),
    "spam_trap_hits": lambda i, d: replace(i, spam_trap_hits=i.spam_trap_hits + d.draw(STEP)),
    "unsubscribe_delay_hours": worse_delay,
    "dsr_closed_late": lambda i, d: replace(i, dsr_closed_late=i.dsr_closed_late + d.draw(STEP)),
    "dsr_open_overdue": lambda i, d: replace(i, dsr_open_overdue=i.dsr_open_overdue + d.draw(STEP)),
}


def factor(reputation: Reputation, key: str) -> Factor:
    return next(item for item in reputation.factors if item.key == key)


def factor_value(reputation: Reputation, key: str) -> tuple[float, float]:
    """Return the score and the value of one factor that must have data."""
    value = factor(reputation, key).value
    assert value is not None, key
    return reputation.score, value


def uncapped_score(reputation: Reputation) -> float:
    known = [item for item in reputation.factors if item.status != "unknown"]
    return 100.0 * sum(i.weight * i.subscore for i in known) / sum(i.weight for i in known)


@pytest.mark.parametrize("name", sorted(WORSENINGS))
@settings(max_examples=PER_INPUT_EXAMPLES)
@given(inputs=reputation_inputs(), data=st.data())
def test_worse_input_never_raises_score(
    name: str, inputs: ReputationInputs, data: st.DataObject
) -> None:
    worse = WORSENINGS[name](inputs, data)

    before = compute_score(inputs)
    after = compute_score(worse)

    assert after.score <= before.score + ROUNDING
    assert after.grade <= before.grade


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs(), data=st.data())
def test_several_worse_inputs_never_raise_score(
    inputs: ReputationInputs, data: st.DataObject
) -> None:
    names = data.draw(st.lists(st.sampled_from(sorted(WORSENINGS)), min_size=2, max_size=6))
    worse = inputs
    for name in names:
        worse = WORSENINGS[name](worse, data)

    assert compute_score(worse).score <= compute_score(inputs).score + ROUNDING


def ramp_bound(target: float, zero: float) -> float:
    """Score points per unit of value when the factor carries all the weight."""
    return 100.0 / abs(zero - target)


def cap_bound(target: float, limit: float) -> float:
    return (100.0 - CAP_FLOOR) / (limit - target)


COMPLAINT_BOUND = max(
    ramp_bound(f.COMPLAINT_TARGET, f.COMPLAINT_LIMIT),
    cap_bound(f.COMPLAINT_TARGET, f.COMPLAINT_LIMIT),
)
BOUNCE_BOUND = max(
    ramp_bound(f.BOUNCE_TARGET, f.BOUNCE_LIMIT), cap_bound(f.BOUNCE_TARGET, f.BOUNCE_LIMIT)
)


@dataclass(frozen=True)
class CountCase:
    """A count whose rate feeds one factor, and the bound of the score per percentage point."""

    total: str
    key: str
    bound: float
    # The rates, in percent, where the ramp and the cap bend.
    bends: tuple[float, float]


COUNT_CASES = {
    "hard_bounces": CountCase("sent", "bounces", BOUNCE_BOUND, (f.BOUNCE_TARGET, f.BOUNCE_LIMIT)),
    "complaints": CountCase(
        "sent", "complaints", COMPLAINT_BOUND, (f.COMPLAINT_TARGET, f.COMPLAINT_LIMIT)
    ),
    "unsubscribes": CountCase(
        "sent",
        "unsubscribes",
        ramp_bound(f.UNSUBSCRIBE_TARGET, f.UNSUBSCRIBE_ZERO),
        (f.UNSUBSCRIBE_TARGET, f.UNSUBSCRIBE_ZERO),
    ),
    "opens": CountCase(
        "sent", "opens", ramp_bound(f.OPEN_TARGET, f.OPEN_ZERO), (f.OPEN_ZERO, f.OPEN_TARGET)
    ),
    "footers_compliant": CountCase(
        "footers_checked",
        "footers",
        ramp_bound(f.FOOTER_TARGET, f.FOOTER_ZERO),
        (f.FOOTER_ZERO, f.FOOTER_TARGET),
    ),
    "recipients_with_basis": CountCase(
        "recipients_screened",
        "consent",
        ramp_bound(f.CONSENT_TARGET, f.CONSENT_ZERO),
        (f.CONSENT_ZERO, f.CONSENT_TARGET),
    ),
    "dsr_closed_late": CountCase(
        "dsr_closed", "dsr", ramp_bound(f.DSR_TARGET, f.DSR_ZERO), (0.0, 100.0 - f.DSR_ZERO)
    ),
    "recipients_inactive": CountCase(
        "recipients_screened",
        "inactive",
        ramp_bound(f.INACTIVE_TARGET, f.INACTIVE_ZERO),
        (f.INACTIVE_TARGET, f.INACTIVE_ZERO),
    ),
}


def near_bends(first: float, second: float) -> st.SearchStrategy[float]:
    """Draw a value just below one of two bends, where a step function would jump."""
    jitter = (second - first) / 20.0
    return st.sampled_from([first, second]).flatmap(
        lambda bend: st.floats(max(0.0, bend - jitter), bend)
    )


def without_caps(inputs: ReputationInputs) -> ReputationInputs:
    """Clear the inputs behind the caps, so that a capped score does not hide a jump."""
    return replace(inputs, hard_bounces=0, complaints=0, gmail_spam_rate=None)


@pytest.mark.parametrize("count", sorted(COUNT_CASES))
@settings(max_examples=PER_INPUT_EXAMPLES)
@given(inputs=reputation_inputs(), total=st.integers(1_000, 200_000), data=st.data())
def test_count_change_moves_score_within_bound(
    count: str, inputs: ReputationInputs, total: int, data: st.DataObject
) -> None:
    case = COUNT_CASES[count]
    # Start near a bend, where a step function would jump, or anywhere around.
    span = case.bends[1] - case.bends[0]
    rate = data.draw(near_bends(*case.bends) | st.floats(0.0, 100.0))
    part = min(total - 1, int(total * rate / 100.0))
    step = data.draw(st.integers(1, max(1, min(int(total * span / 1_000.0), total - part))))
    # Opens are measured without machine opens here, because those have their
    # own bound. Without overdue requests, the DSR value is on-time / closed.
    changes: dict[str, Any] = {
        case.total: total,
        count: part,
        "machine_opens": None,
        "dsr_open_overdue": 0,
    }
    base = replace(without_caps(inputs), **changes)
    nudged_changes: dict[str, Any] = {count: part + step}
    nudged = replace(base, **nudged_changes)

    before = factor_value(compute_score(base), case.key)
    after = factor_value(compute_score(nudged), case.key)
    moved = abs(after[1] - before[1])

    assert moved == pytest.approx(100.0 * step / total)
    assert abs(after[0] - before[0]) <= case.bound * moved + ROUNDING


@settings(max_examples=EXAMPLES)
@given(
    inputs=reputation_inputs(),
    rate=near_bends(f.COMPLAINT_TARGET / 100.0, f.COMPLAINT_LIMIT / 100.0) | st.floats(0.0, 0.01),
    step=st.floats(0.0, 0.0002),
)
def test_gmail_rate_moves_score_within_bound(
    inputs: ReputationInputs, rate: float, step: float
) -> None:
    bound = max(
        ramp_bound(f.COMPLAINT_TARGET, f.COMPLAINT_LIMIT),
        cap_bound(f.COMPLAINT_TARGET, f.COMPLAINT_LIMIT),
    )

    base = replace(without_caps(inputs), gmail_spam_rate=rate)

    before = compute_score(base)
    after = compute_score(replace(base, gmail_spam_rate=rate + step))

    assert abs(after.score - before.score) <= bound * 100.0 * step + ROUNDING


@settings(max_examples=EXAMPLES)
@given(
    inputs=reputation_inputs(),
    hours=near_bends(f.UNSUBSCRIBE_DELAY_TARGET, f.UNSUBSCRIBE_DELAY_ZERO) | st.floats(0.0, 400.0),
    step=st.floats(0.0, 2.0),
)
def test_unsubscribe_delay_moves_score_within_bound(
    inputs: ReputationInputs, hours: float, step: float
) -> None:
    bound = ramp_bound(f.UNSUBSCRIBE_DELAY_TARGET, f.UNSUBSCRIBE_DELAY_ZERO)

    base = replace(without_caps(inputs), unsubscribe_delay_hours=hours)

    before = compute_score(base)
    after = compute_score(replace(base, unsubscribe_delay_hours=hours + step))

    assert abs(after.score - before.score) <= bound * step + ROUNDING


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs(), opens=st.integers(1, 100_000), data=st.data())
def test_machine_share_moves_score_within_bound(
    inputs: ReputationInputs, opens: int, data: st.DataObject
) -> None:
    # With sends, bounces, complaints, unsubscribes and spam traps always have
    # data, so the open factor never carries more than 6 of 57 weight points.
    always_known = f.BOUNCE_WEIGHT + f.COMPLAINT_WEIGHT + f.UNSUBSCRIBE_WEIGHT + f.SPAM_TRAP_WEIGHT
    ramp = f.MACHINE_SHARE_NO_WEIGHT - f.MACHINE_SHARE_FLAG
    bound = 100.0 * f.OPEN_WEIGHT / always_known / ramp
    machine = data.draw(st.integers(0, opens - 1))
    base = replace(
        without_caps(inputs), sent=max(inputs.sent, opens), opens=opens, machine_opens=machine
    )

    before = compute_score(base)
    after = compute_score(replace(base, machine_opens=machine + 1))

    assert abs(after.score - before.score) <= bound * 100.0 / opens + ROUNDING


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs())
def test_score_and_grade_in_range(inputs: ReputationInputs) -> None:
    result = compute_score(inputs)

    assert 0.0 <= result.score <= 100.0
    assert 1 <= result.grade <= 8
    assert result.grade == grade_for(result.score)


@pytest.mark.parametrize(
    ("score", "grade"),
    [(0.0, 1), (12.5, 1), (12.500001, 2), (20.0, 2), (50.0, 4), (87.5, 7), (87.6, 8), (100.0, 8)],
)
def test_grade_bands(score: float, grade: int) -> None:
    assert grade_for(score) == grade
    assert GRADE_WIDTH == 12.5


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs())
def test_score_is_capped_weighted_mean(inputs: ReputationInputs) -> None:
    result = compute_score(inputs)
    known = [item for item in result.factors if item.status != "unknown"]
    if not known:
        assert result.score == NO_DATA_SCORE
        return

    uncapped = uncapped_score(result)

    assert result.score <= uncapped + ROUNDING
    if result.caps:
        assert result.score < uncapped
    else:
        assert result.score == pytest.approx(uncapped, abs=ROUNDING)


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs(), extra=st.floats(0.0, 5.0))
def test_complaints_at_limit_cap_score(inputs: ReputationInputs, extra: float) -> None:
    sent = max(inputs.sent, 1_000)
    complaints = int(sent * (f.COMPLAINT_LIMIT + extra) / 100.0) + 1
    result = compute_score(replace(inputs, sent=sent, complaints=complaints))

    assert result.score <= CAP_FLOOR
    assert result.grade <= 2
    assert ("complaints" in result.caps) == (uncapped_score(result) > CAP_FLOOR)


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs(), rate=st.floats(f.COMPLAINT_LIMIT / 100.0, 1.0))
def test_gmail_rate_at_limit_caps_score(inputs: ReputationInputs, rate: float) -> None:
    result = compute_score(replace(inputs, gmail_spam_rate=rate))

    assert result.score <= CAP_FLOOR
    assert result.grade <= 2
    assert ("gmail_spam_rate" in result.caps) == (uncapped_score(result) > CAP_FLOOR)


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs(), extra=st.floats(0.001, 50.0))
def test_bounces_above_limit_cap_score(inputs: ReputationInputs, extra: float) -> None:
    sent = max(inputs.sent, 1_000)
    bounces = min(sent, int(sent * (f.BOUNCE_LIMIT + extra) / 100.0) + 1)
    result = compute_score(replace(inputs, sent=sent, hard_bounces=bounces))

    assert result.score <= CAP_FLOOR
    assert result.grade <= 2
    assert ("bounces" in result.caps) == (uncapped_score(result) > CAP_FLOOR)


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs())
def test_unknown_factors_carry_no_value(inputs: ReputationInputs) -> None:
    result = compute_score(inputs)

    for item in result.factors:
        if item.status == "unknown":
            assert item.value is None, item.key
            assert item.subscore == 0.0, item.key
            assert item.message_params == (), item.key
            assert item.key not in result.fix_first
        else:
            assert item.value is not None, item.key


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs())
def test_fix_first_sorted_by_points_lost(inputs: ReputationInputs) -> None:
    result = compute_score(inputs)
    by_key = {item.key: item for item in result.factors}
    lost = [by_key[key].weight * (1.0 - by_key[key].subscore) for key in result.fix_first]
    should_list = {
        item.key
        for item in result.factors
        if item.status != "unknown" and item.weight * (1.0 - item.subscore) > 0.0
    }

    assert lost == sorted(lost, reverse=True)
    assert set(result.fix_first) == should_list


@settings(max_examples=EXAMPLES)
@given(inputs=reputation_inputs())
def test_every_sentence_has_french_translation(inputs: ReputationInputs) -> None:
    french = translations("fr")

    for item in compute_score(inputs).factors:
        assert french.gettext(item.message) != item.message, item.message
        assert french.gettext(item.target) != item.target, item.target
        # Filling the sentence must not fail on a missing or extra parameter.
        assert french.gettext(item.message) % dict(item.message_params)


def test_clean_sender_gets_grade_eight() -> None:
    result = compute_score(CLEAN)

    assert result.score == 100.0
    assert result.grade == 8
    assert result.caps == ()
    assert result.fix_first == ()
    assert {item.status for item in result.factors} == {"good"}


def test_no_data_gives_middle_score() -> None:
    result = compute_score(ReputationInputs())

    assert result.score == NO_DATA_SCORE
    assert result.grade == 4
    assert {item.status for item in result.factors} == {"unknown"}
    assert result.caps == ()
    assert result.fix_first == ()


def test_missing_factor_left_out_of_mean() -> None:
    result = compute_score(replace(CLEAN, recipients_screened=0, recipients_with_basis=0))

    assert factor(result, "consent").status == "unknown"
    assert factor(result, "inactive").status == "unknown"
    assert result.score == 100.0


def test_complaints_at_limit_give_grade_two() -> None:
    result = compute_score(replace(CLEAN, complaints=30))

    assert factor(result, "complaints").status == "bad"
    assert result.score == CAP_FLOOR
    assert result.grade == 2
    assert result.caps == ("complaints",)
    assert result.fix_first[0] == "complaints"


def test_complaints_halfway_cap_linearly() -> None:
    # 0.175 % is halfway between the 0.05 % target and the 0.3 % limit.
    result = compute_score(replace(CLEAN, complaints=175, sent=100_000, opens=30_000))

    assert result.score == pytest.approx(60.0)
    assert result.grade == 5
    assert result.caps == ("complaints",)


def test_gmail_rate_alone_triggers_cap() -> None:
    result = compute_score(replace(CLEAN, complaints=0, gmail_spam_rate=0.003))

    assert factor(result, "complaints").status == "good"
    assert factor(result, "gmail_spam_rate").status == "bad"
    assert result.score == CAP_FLOOR
    assert result.caps == ("gmail_spam_rate",)


def test_bounces_example_above_limit() -> None:
    result = compute_score(replace(CLEAN, hard_bounces=201))

    assert result.score == CAP_FLOOR
    assert result.grade == 2
    assert result.caps == ("bounces",)


def test_machine_opens_make_opens_unreliable() -> None:
    # Half of the opens by machines is the limit; one more flags the rate.
    at_flag = compute_score(replace(CLEAN, machine_opens=1_500))
    past_flag = compute_score(replace(CLEAN, machine_opens=1_501))

    assert factor(at_flag, "opens").status == "good"
    assert factor(past_flag, "opens").status == "warn"
    assert "unreliable" in factor(past_flag, "opens").message
    assert dict(factor(past_flag, "opens").message_params)["machine_share"] == "50"


def test_unreliable_high_open_rate_loses_weight() -> None:
    weak = replace(CLEAN, spf="fail", dmarc="monitoring", footers_compliant=9)
    reliable = compute_score(replace(weak, machine_opens=None))
    unreliable = compute_score(replace(weak, machine_opens=2_400))

    assert factor(unreliable, "opens").subscore == 1.0
    assert factor(unreliable, "opens").weight == 0.0
    assert unreliable.score < reliable.score
    assert unreliable.score == pytest.approx(uncapped_score(unreliable))


def test_unreliable_low_open_rate_keeps_weight() -> None:
    weak = replace(CLEAN, opens=300)
    reliable = compute_score(replace(weak, machine_opens=None))
    unreliable = compute_score(replace(weak, machine_opens=290))

    assert factor(unreliable, "opens").status == "bad"
    assert factor(unreliable, "opens").weight == f.OPEN_WEIGHT
    assert unreliable.score == reliable.score


def test_first_overdue_request_lowers_score() -> None:
    quiet = ReputationInputs(spf="pass", dkim="pass", dmarc="enforced")
    overdue = replace(quiet, dsr_open_overdue=1)

    result = compute_score(overdue)

    assert factor(compute_score(quiet), "dsr").status == "unknown"
    assert factor(result, "dsr").subscore == 0.0
    assert result.score < compute_score(quiet).score
    assert dict(factor(result, "dsr").message_params) == {"late": "1", "total": "1"}


def test_authentication_lists_failures() -> None:
    result = compute_score(replace(CLEAN, dkim="fail", dmarc="monitoring"))
    auth = factor(result, "authentication")

    assert auth.status == "warn"
    assert auth.subscore == pytest.approx((0.3 + 0.4 * 0.5) / 1.0)
    assert dict(auth.message_params) == {"failing": "DKIM, DMARC p=none", "passing": "SPF"}


@pytest.mark.parametrize(
    "inputs",
    [
        ReputationInputs(sent=-1),
        ReputationInputs(sent=10, complaints=-2),
        ReputationInputs(gmail_spam_rate=1.5),
        ReputationInputs(gmail_spam_rate=float("nan")),
        ReputationInputs(unsubscribe_delay_hours=-1.0),
        ReputationInputs(unsubscribe_delay_hours=float("inf")),
    ],
)
def test_invalid_inputs_raise(inputs: ReputationInputs) -> None:
    with pytest.raises(ValueError, match=r"^invalid "):
        compute_score(inputs)
