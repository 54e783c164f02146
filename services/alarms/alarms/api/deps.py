from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from alarms.application import AlarmsService


async def alarms_service(request: Request) -> AlarmsService:
    return request.app.state.alarms


Service = Annotated[AlarmsService, Depends(alarms_service)]
