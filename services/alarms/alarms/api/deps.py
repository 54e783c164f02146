from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from linkduty_shared.api.problems import Problem
from linkduty_shared.auth import Principal

from alarms.application import AlarmsService
from alarms.domain.alarm import Alarm


async def alarms_service(request: Request) -> AlarmsService:
    return request.app.state.alarms


Service = Annotated[AlarmsService, Depends(alarms_service)]


def can_see(principal: Principal, jurisdiction: dict) -> bool:
    """A caller sees an alarm whose chain contains one of the divisions of its jurisdiction claim."""
    return principal.may_see(tuple(jurisdiction.values()))


def require_visible(principal: Principal, alarm: Alarm) -> None:
    """404, not 403, for an alarm outside the caller's jurisdiction: its existence is not theirs to know."""
    if not can_see(principal, alarm.jurisdiction):
        raise Problem(404, "not-found", "No such resource", f"{alarm.id} does not exist")
