from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from linkduty_shared.api.deps import require_scopes
from linkduty_shared.auth import Principal

from units.application import Dispatcher, JointRecords, Registry
from units.config import UnitsSettings


async def registry(request: Request) -> Registry:
    return request.app.state.registry


async def dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher


async def joint_records(request: Request) -> JointRecords:
    return request.app.state.records


async def units_settings(request: Request) -> UnitsSettings:
    return request.app.state.settings


RegistryService = Annotated[Registry, Depends(registry)]
DispatchService = Annotated[Dispatcher, Depends(dispatcher)]
RecordsService = Annotated[JointRecords, Depends(joint_records)]
Settings = Annotated[UnitsSettings, Depends(units_settings)]
# The callers of the units API, by the scope their token must hold.
Reader = Annotated[Principal, require_scopes("units:read")]
Operator = Annotated[Principal, require_scopes("units:operate")]
Registrar = Annotated[Principal, require_scopes("units:register")]
IfMatch = Annotated[str | None, Header()]
