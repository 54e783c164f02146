"""The units application layer: the registry of forces, joint dispatch (with the units' status
and the joint operation), and the joint records (rosters, patrols, trainings), each a unit of work
over its streams. Refusals are domain errors (`units.application.errors`); nothing here knows HTTP."""

from units.application.dispatch import Dispatcher, alarm_facts, operation_id
from units.application.joint_records import RECORDS_DDL, ForceRoster, JointRecords
from units.application.registry import SOURCE, Registry, utcnow

__all__ = ["RECORDS_DDL", "SOURCE", "Dispatcher", "ForceRoster", "JointRecords", "Registry", "alarm_facts",
           "operation_id", "utcnow"]
