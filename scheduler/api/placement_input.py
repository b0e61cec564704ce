"""Checks of the placement fields of an InstanceSpec; each failure names the field.

Only fields that are set go into the spec, so instances without placement
rules carry nothing extra through Raft.
"""
from __future__ import annotations

from common.errors import InvalidArgument
from common.ids import check_name
from scheduler.rules import constraints as c
from scheduler.placement.weighers import STRATEGIES

MAX_CONSTRAINTS = 32


def instance_placement(spec) -> dict:
    fields: dict = {}
    if len(spec.constraints) > MAX_CONSTRAINTS:
        raise InvalidArgument("spec.constraints", f"at most {MAX_CONSTRAINTS} constraints")
    if spec.constraints:
        parsed = c.parse_all(list(spec.constraints), "spec.constraints")
        fields["constraints"] = [str(x) for x in parsed]
    if spec.group:
        fields["group"] = check_name(spec.group, "spec.group")
    if spec.strategy:
        if spec.strategy not in STRATEGIES:
            raise InvalidArgument("spec.strategy", f"must be one of {', '.join(STRATEGIES)}, not {spec.strategy!r}")
        fields["strategy"] = spec.strategy
    return fields
