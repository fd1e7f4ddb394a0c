"""The sender's reputation score: a 0-100 score and a grade from 1 to 8.

The score is the weighted mean of the subscores of the factors that have
data, times 100, then capped by the hard limits of complaints, Gmail's spam
rate and bounces. Every step is continuous and never rises when one input
gets worse; docs/reputation.md gives the formula and the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import fields, replace

from compliance.reputation.factors import (
    BOUNCE_LIMIT,
    BOUNCE_TARGET,
    COMPLAINT_LIMIT,
    COMPLAINT_TARGET,
    MACHINE_SHARE_FLAG,
    MACHINE_SHARE_NO_WEIGHT,
    build_factors,
    descending,
    machine_share,
    percent,
)
from compliance.reputation.model import Factor, Reputation, ReputationInputs

GRADE_COUNT = 8
# Grade g covers scores above (g - 1) * 12.5 up to g * 12.5. A score of 0 is grade 1.
GRADE_WIDTH = 100.0 / GRADE_COUNT
# A sender with no data at all sits at the middle of the scale.
NO_DATA_SCORE = 50.0
# The ceiling a cap puts on the score at and above its hard limit: grade 2 at best.
CAP_FLOOR = 20.0
# The score is rounded so that float noise cannot make equal inputs differ.
SCORE_DIGITS = 6


def grade_for(score: float) -> int:
    """Return the grade, from 1 (worst) to 8 (best), of a score from 0 to 100."""
    return max(1, min(GRADE_COUNT, math.ceil(score / GRADE_WIDTH)))


def cap_ceiling(rate: float, target: float, limit: float) -> float:
    """Return the highest score allowed at ``rate``.

    100 at or below the target, falling linearly to CAP_FLOOR at the limit and
    staying there above it, so a sender near a hard limit loses grades before
    crossing it rather than all at once.
    """
    if rate <= target:
        return 100.0
    if rate >= limit:
        return CAP_FLOOR
    return 100.0 - (100.0 - CAP_FLOOR) * (rate - target) / (limit - target)


def cap_ceilings(inputs: ReputationInputs) -> dict[str, float]:
    """Return the ceiling of each hard limit that has data, by factor key."""
    ceilings: dict[str, float] = {}
    complaint_rate = percent(inputs.complaints, inputs.sent)
    if complaint_rate is not None:
        ceilings["complaints"] = cap_ceiling(complaint_rate, COMPLAINT_TARGET, COMPLAINT_LIMIT)

    # Gmail's own rate counts against the same 0.3 % limit as complaints.
    if inputs.gmail_spam_rate is not None:
        gmail_rate = 100.0 * inputs.gmail_spam_rate
        ceilings["gmail_spam_rate"] = cap_ceiling(gmail_rate, COMPLAINT_TARGET, COMPLAINT_LIMIT)

    bounce_rate = percent(inputs.hard_bounces, inputs.sent)
    if bounce_rate is not None:
        ceilings["bounces"] = cap_ceiling(bounce_rate, BOUNCE_TARGET, BOUNCE_LIMIT)
    return ceilings


def weighted_mean(factors: Iterable[Factor]) -> float | None:
    """Return the weighted mean subscore of the factors with data, or None without any."""
    known = [factor for factor in factors if factor.status != "unknown"]
    total = sum(factor.weight for factor in known)
    if total <= 0.0:
        return None
    return sum(factor.weight * factor.subscore for factor in known) / total


def open_discount(inputs: ReputationInputs) -> float:
    """Return the share of the open weight to drop, from 0 to 1, as machine opens dominate."""
    share = machine_share(inputs)
    if share is None:
        return 0.0
    return 1.0 - descending(share, MACHINE_SHARE_FLAG, MACHINE_SHARE_NO_WEIGHT)


def discount_unreliable_opens(factors: tuple[Factor, ...], discount: float) -> tuple[Factor, ...]:
    """Shrink the open weight by ``discount`` when that lowers the score.

    Machine opens inflate the open rate, so an unreliable high rate must not
    lift the score, while a low rate stays a warning. Taking the lower of the
    two means keeps the score from rising with more machine opens or fewer
    opens, whichever side of the other factors' mean the open subscore is on.
    """
    if discount <= 0.0:
        return factors

    full = weighted_mean(factors)
    reduced_factors = tuple(
        replace(factor, weight=factor.weight * (1.0 - discount))
        if factor.key == "opens" and factor.status != "unknown"
        else factor
        for factor in factors
    )
    reduced = weighted_mean(reduced_factors)
    if full is None or reduced is None or reduced >= full:
        return factors
    return reduced_factors


def fix_order(factors: Iterable[Factor]) -> tuple[str, ...]:
    """Return the keys of the factors that lost points, most points lost first."""
    lost = [
        (factor.weight * (1.0 - factor.subscore), position, factor.key)
        for position, factor in enumerate(factors)
        if factor.status != "unknown"
    ]
    ranked = sorted((-points, position, key) for points, position, key in lost if points > 0.0)
    return tuple(key for _, _, key in ranked)


def check_inputs(inputs: ReputationInputs) -> None:
    """Raise ValueError for a negative count or an impossible rate or delay."""
    for field in fields(inputs):
        value = getattr(inputs, field.name)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ValueError(
                f"invalid reputation input {field.name}={value}: counts must be 0 or more"
            )

    rate = inputs.gmail_spam_rate
    if rate is not None and not 0.0 <= rate <= 1.0:
        raise ValueError(
            f"invalid gmail_spam_rate={rate}: pass a fraction from 0 to 1 (0.003 is 0.3 %)"
        )
    delay = inputs.unsubscribe_delay_hours
    if delay is not None and not (math.isfinite(delay) and delay >= 0.0):
        raise ValueError(
            f"invalid unsubscribe_delay_hours={delay}: pass a finite number of hours, 0 or more"
        )


def compute_score(inputs: ReputationInputs) -> Reputation:
    """Compute the score, grade, factors, applied caps and fix order of one sender.

    :raises ValueError: when a count is negative, ``gmail_spam_rate`` is not a
        fraction from 0 to 1, or ``unsubscribe_delay_hours`` is negative or not finite.
    """
    check_inputs(inputs)
    factors = discount_unreliable_opens(build_factors(inputs), open_discount(inputs))

    mean = weighted_mean(factors)
    if mean is None:
        # Without data, neither a good nor a bad grade would be honest.
        return Reputation(NO_DATA_SCORE, grade_for(NO_DATA_SCORE), factors, (), ())

    uncapped = 100.0 * mean
    ceilings = cap_ceilings(inputs)
    score = round(min([uncapped, *ceilings.values()]), SCORE_DIGITS)

    # A cap is listed when it lowered the score. The lowest ceiling comes first.
    binding = sorted((ceiling, key) for key, ceiling in ceilings.items() if ceiling < uncapped)
    caps = tuple(key for _, key in binding)
    return Reputation(score, grade_for(score), factors, caps, fix_order(factors))
