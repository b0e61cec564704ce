"""The Networks service: VPCs, subnets and security groups.

validate → resolve names → choose ids → propose → answer. Apply checks
everything again (CIDRs, overlaps, ports in use), so a race between two writers
ends with one of them refused and nothing half-made.
"""
from __future__ import annotations

from common.errors import InvalidArgument, rpc_errors
from common.ids import check_labels, check_name, new_id
from proto.v1 import networks_pb2 as npb
from proto.v1 import networks_pb2_grpc
from scheduler.api import convert, network_convert, validate
from scheduler.api import network_input as find
from scheduler.api import floating as floating_api
from scheduler.state import networks as nets


class NetworksServicer(networks_pb2_grpc.NetworksServicer):
    def __init__(self, store, proposer):
        self.store = store
        self.proposer = proposer

    def _read(self, fn):
        with self.store.read_lock:
            return fn(self.store.read())

    def _list(self, request, table: str, to_pb, keep=lambda state, record: True):
        project = validate.project(request.project)
        size, offset = validate.page(request.page_size, request.page_token)

        def window(state):
            chosen = sorted((x for x in getattr(state, table).values()
                             if x["project"] == project and keep(state, x)),
                            key=lambda x: (x["name"], x["id"]))
            items = [to_pb(state, x) for x in chosen[offset:offset + size]]
            return items, (str(offset + size) if offset + size < len(chosen) else "")
        return self._read(window)

    @staticmethod
    def _ref(request) -> tuple[str, str]:
        if not request.name:
            raise InvalidArgument("name", "is required")
        return validate.project(request.project), request.name

    # -- VPCs -----------------------------------------------------------------

    @rpc_errors
    def CreateVpc(self, request, context):
        name = check_name(request.name)
        project = validate.project(request.project)
        if not request.cidr:
            raise InvalidArgument("cidr", "is required")
        cidr = str(nets.network(request.cidr, "cidr"))
        if request.mtu and not 576 <= request.mtu <= 9000:
            raise InvalidArgument("mtu", f"must be between 576 and 9000, not {request.mtu}")
        result = self.proposer.propose("vpc.create", {
            "id": new_id("vpc"), "name": name, "project": project, "cidr": cidr,
            "mtu": request.mtu or nets.DEFAULT_MTU, "labels": check_labels(dict(request.labels)),
            "gateway_host_id": floating_api.gateway_host_id(self.store, request.gateway_host)})
        return self._read(lambda state: network_convert.vpc_pb(state, result["vpc"]))

    @rpc_errors
    def GetVpc(self, request, context):
        project, ref = self._ref(request)
        return self._read(lambda state: network_convert.vpc_pb(state, find.vpc(state, project, ref)))

    @rpc_errors
    def ListVpcs(self, request, context):
        items, token = self._list(request, "vpcs", network_convert.vpc_pb)
        return npb.ListVpcsResponse(vpcs=items, next_page_token=token)

    @rpc_errors
    def DeleteVpc(self, request, context):
        project, ref = self._ref(request)
        vpc = self._read(lambda state: find.vpc(state, project, ref))
        self.proposer.propose("vpc.delete", {"id": vpc["id"]})
        return npb.DeleteNetworkResponse()

    @rpc_errors
    def SetVpcGateway(self, request, context):
        return floating_api.set_vpc_gateway(self.store, self.proposer, request)

    # -- subnets --------------------------------------------------------------

    @rpc_errors
    def CreateSubnet(self, request, context):
        name = check_name(request.name)
        project = validate.project(request.project)
        if not request.vpc:
            raise InvalidArgument("vpc", "is required")
        if not request.cidr:
            raise InvalidArgument("cidr", "is required")
        cidr = str(nets.network(request.cidr, "cidr"))
        vpc = self._read(lambda state: find.vpc(state, project, request.vpc))
        result = self.proposer.propose("subnet.create", {
            "id": new_id("subnet"), "name": name, "project": project, "vpc_id": vpc["id"],
            "cidr": cidr, "labels": check_labels(dict(request.labels))})
        return self._read(lambda state: network_convert.subnet_pb(state, result["subnet"]))

    @rpc_errors
    def GetSubnet(self, request, context):
        project, ref = self._ref(request)
        return self._read(lambda state: network_convert.subnet_pb(state, find.subnet(state, project, ref)))

    @rpc_errors
    def ListSubnets(self, request, context):
        vpc_id = ""
        if request.vpc:
            project = validate.project(request.project)
            vpc_id = self._read(lambda state: find.vpc(state, project, request.vpc))["id"]
        items, token = self._list(request, "subnets", network_convert.subnet_pb,
                                  lambda state, x: not vpc_id or x["vpc_id"] == vpc_id)
        return npb.ListSubnetsResponse(subnets=items, next_page_token=token)

    @rpc_errors
    def DeleteSubnet(self, request, context):
        project, ref = self._ref(request)
        subnet = self._read(lambda state: find.subnet(state, project, ref))
        self.proposer.propose("subnet.delete", {"id": subnet["id"]})
        return npb.DeleteNetworkResponse()

    # -- security groups ------------------------------------------------------

    @rpc_errors
    def CreateSecurityGroup(self, request, context):
        name = check_name(request.name)
        project = validate.project(request.project)
        result = self.proposer.propose("security_group.create", {
            "id": new_id("sg"), "name": name, "project": project,
            "labels": check_labels(dict(request.labels))})
        return self._read(lambda state: network_convert.security_group_pb(state, result["security_group"]))

    @rpc_errors
    def GetSecurityGroup(self, request, context):
        project, ref = self._ref(request)
        return self._read(lambda state: network_convert.security_group_pb(
            state, find.security_group(state, project, ref)))

    @rpc_errors
    def ListSecurityGroups(self, request, context):
        items, token = self._list(request, "security_groups", network_convert.security_group_pb)
        return npb.ListSecurityGroupsResponse(security_groups=items, next_page_token=token)

    @rpc_errors
    def DeleteSecurityGroup(self, request, context):
        project, ref = self._ref(request)
        group = self._read(lambda state: find.security_group(state, project, ref))
        self.proposer.propose("security_group.delete", {"id": group["id"]})
        return npb.DeleteNetworkResponse()

    def _group(self, request) -> tuple[str, dict]:
        if not request.group:
            raise InvalidArgument("group", "is required")
        project = validate.project(request.project)
        return project, self._read(lambda state: find.security_group(state, project, request.group))

    @rpc_errors
    def AddSecurityGroupRule(self, request, context):
        project, group = self._group(request)
        given = request.rule
        rule = nets.check_rule(nets.SecurityRule(direction=given.direction, protocol=given.protocol,
                                                 port_min=given.port_min, port_max=given.port_max,
                                                 cidr=given.cidr, remote_group=given.remote_group))
        if rule["remote_group"]:
            rule["remote_group"] = self._read(
                lambda state: find.security_group(state, project, rule["remote_group"]))["id"]
        rule["id"] = new_id("rule")
        result = self.proposer.propose("security_group.add_rule", {"id": group["id"], "rule": rule})
        return self._read(lambda state: network_convert.security_group_pb(state, result["security_group"]))

    @rpc_errors
    def RemoveSecurityGroupRule(self, request, context):
        _, group = self._group(request)
        if not request.rule_id:
            raise InvalidArgument("rule_id", "is required")
        result = self.proposer.propose("security_group.remove_rule",
                                       {"id": group["id"], "rule_id": request.rule_id})
        return self._read(lambda state: network_convert.security_group_pb(state, result["security_group"]))

    def _membership(self, request, op: str):
        project, group = self._group(request)
        if not request.instance:
            raise InvalidArgument("instance", "is required")

        def instance_id(state):
            instance = state.instance_by_ref(project, request.instance)
            if instance is None:
                raise find.NotFound(f"instance {request.instance!r} not found in project {project!r}")
            return instance["id"]
        result = self.proposer.propose(op, {"id": group["id"], "instance_id": self._read(instance_id)})
        return self._read(lambda state: convert.instance_pb(result["instance"], state.hosts))

    @rpc_errors
    def AttachSecurityGroup(self, request, context):
        return self._membership(request, "security_group.attach")

    @rpc_errors
    def DetachSecurityGroup(self, request, context):
        return self._membership(request, "security_group.detach")
