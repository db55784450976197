"""How a case ended (结案类型): closing codes that do not flatter.

A case closes with a code: resolved (已解决), partly resolved (部分解决), not solvable (无法解决,
with why: policy, moved to the petitions system 信访, or to the courts) or reporter unreachable
(联系不上反映人). Only "resolved" counts as solved in the scores; every closed case counts as
closed. Reports that fail the on-site check are cancelled with a reason of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from gisgrid.errors import InvalidReport


@dataclass(frozen=True)
class Outcome:
    """A closing code."""

    code: str
    label: str
    solved: bool
    reasons: dict[str, str]  # why, when one is needed (code -> label)


NOT_SOLVABLE_REASONS = {
    "policy": "政策原因",
    "petition": "转信访",
    "court": "转司法途径",
}
OUTCOMES = {
    o.code: o
    for o in (
        Outcome("resolved", "已解决", True, {}),
        Outcome("partly_resolved", "部分解决", False, {}),
        Outcome("not_solvable", "无法解决", False, NOT_SOLVABLE_REASONS),
        Outcome("unreachable", "联系不上反映人", False, {}),
    )
}
# Why a report was not taken up after its on-site check (不予立案).
CANCEL_REASONS = {
    "false_report": "反映不属实",
    "duplicate": "重复反映",
    "not_in_remit": "不属于受理范围",
    "other": "其他",
}


def check_outcome(code: str | None, reason: str | None) -> tuple[str, str | None]:
    """A closing code and its reason, checked; InvalidReport naming what would be accepted."""
    codes = ", ".join(f"{o.code} ({o.label})" for o in OUTCOMES.values())
    if not code:
        raise InvalidReport(f"closing a case needs outcome: one of {codes}")
    outcome = OUTCOMES.get(code)
    if outcome is None:
        raise InvalidReport(f"outcome={code!r} is not a closing code; use one of {codes}")
    if outcome.reasons:
        if reason not in outcome.reasons:
            why = ", ".join(f"{k} ({v})" for k, v in outcome.reasons.items())
            raise InvalidReport(
                f"outcome={code} ({outcome.label}) needs outcome_reason: one of {why}; "
                f"got {reason!r}"
            )
        return code, reason
    if reason:
        raise InvalidReport(f"outcome={code} ({outcome.label}) takes no outcome_reason")
    return code, None


def check_cancel_reason(reason: str | None) -> str:
    """Why a report is not taken up; 'other' when not said."""
    reason = reason or "other"
    if reason not in CANCEL_REASONS:
        why = ", ".join(f"{k} ({v})" for k, v in CANCEL_REASONS.items())
        raise InvalidReport(f"reason={reason!r} is not a reason to cancel; use one of {why}")
    return reason
