"""The Volumes and Snapshots services: validate → decide (host, ids) → propose → answer.

The reconciler (scheduler/leader/volume_reconciler.py) makes what the state says on
the hosts; these calls only change the state, so a create answers CREATING and
a delete DELETING.
"""
from __future__ import annotations

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted, rpc_errors
from common.ids import check_labels, check_name, new_id
from proto.v1 import volumes_pb2, volumes_pb2_grpc
from scheduler.api import validate, volume_input
from scheduler.api.volume_convert import pool_pb, snapshot_pb, volume_pb
from scheduler.proposer import retry_rid
from scheduler.state import records as r
from scheduler.state import volumes as v

DEFAULT_OVERCOMMIT = 4.0


def overcommit(config) -> float:
    return float(getattr(config, "volume_overcommit", DEFAULT_OVERCOMMIT))


def choose_pool_host(state, size_bytes: int, ratio: float) -> str:
    """The up host whose pool has the most room left for `size_bytes` (ties: the id)."""
    best, best_room = None, None
    for host_id, pool in sorted(state.pools.items()):
        host = state.hosts.get(host_id)
        if host is None or host["state"] != r.HOST_UP:
            continue
        room = int(pool["total_bytes"] * ratio) - v.provisioned(state, host_id) - size_bytes
        if room >= 0 and (best_room is None or room > best_room):
            best, best_room = host_id, room
    if best is None:
        raise ResourceExhausted(f"no up host has a volume pool with room for {size_bytes} bytes")
    return best


class _Base:
    def __init__(self, store, proposer, config):
        self.store = store
        self.proposer = proposer
        self.config = config

    def _volume(self, project: str, ref: str, field: str = "name") -> dict:
        with self.store.read_lock:
            return dict(volume_input.find_volume(self.store.read(), project, ref, field))

    def _volume_answer(self, volume_id: str):
        with self.store.read_lock:
            state = self.store.read()
            record = state.volumes.get(volume_id)
            if record is None:
                raise NotFound(f"volume {volume_id} not found")
            return volume_pb(record, state)


class VolumesServicer(_Base, volumes_pb2_grpc.VolumesServicer):
    @rpc_errors
    def CreateVolume(self, request, context):
        name = check_name(request.name, "name")
        project = validate.project(request.project)
        labels = check_labels(dict(request.labels))
        size = volume_input.size(request.size_bytes, allow_zero=bool(request.from_snapshot))
        if sum(bool(x) for x in (request.host, request.near_instance)) > 1:
            raise InvalidArgument("host", "give either host or near_instance, not both")
        ratio = overcommit(self.config)
        with self.store.read_lock:
            state = self.store.read()
            existing = state.volume_names.get(r.name_key(project, name))
            if existing:
                if request.request_id and state.volumes[existing].get("request_id") == request.request_id:
                    return volume_pb(state.volumes[existing], state)
                raise AlreadyExists(f"volume {name!r} already exists in project {project!r}")
            source = ""
            if request.from_snapshot:
                snapshot = volume_input.find_snapshot(state, project, request.from_snapshot, "from_snapshot")
                source, host_id = snapshot["id"], snapshot["host_id"]
                size = max(size, snapshot["size_bytes"])
                if request.host or request.near_instance:
                    wanted = (state.host_by_ref(request.host) or {}).get("id") if request.host else \
                        (state.instance_by_ref(project, request.near_instance) or {}).get("host_id")
                    if wanted != host_id:
                        raise InvalidArgument("host", "a clone lives on its snapshot's host")
            elif request.host:
                host = state.host_by_ref(request.host)
                if host is None:
                    raise NotFound(f"host {request.host!r} not found")
                host_id = host["id"]
            elif request.near_instance:
                instance = state.instance_by_ref(project, request.near_instance)
                if instance is None:
                    raise NotFound(f"instance {request.near_instance!r} not found in project {project!r}")
                host_id = instance["host_id"]
            else:
                host_id = choose_pool_host(state, size, ratio)
        result = self.proposer.propose("volume.create", {
            "id": new_id("v"), "name": name, "project": project, "labels": labels, "size_bytes": size,
            "host_id": host_id, "source_snapshot_id": source, "overcommit": ratio,
            "request_id": request.request_id}, rid=retry_rid(request.request_id, "volume.create", project, name))
        return self._volume_answer(result["volume"]["id"])

    @rpc_errors
    def GetVolume(self, request, context):
        project = validate.project(request.project)
        with self.store.read_lock:
            state = self.store.read()
            return volume_pb(volume_input.find_volume(state, project, request.name, "name"), state)

    @rpc_errors
    def ListVolumes(self, request, context):
        project = validate.project(request.project)
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            state = self.store.read()
            host_id = ""
            if request.host:
                host = state.host_by_ref(request.host)
                if host is None:
                    raise NotFound(f"host {request.host!r} not found")
                host_id = host["id"]
            chosen = sorted((x for x in state.volumes.values() if x["project"] == project
                             and (not host_id or x["host_id"] == host_id)), key=lambda x: (x["name"], x["id"]))
            items = [volume_pb(x, state) for x in chosen[offset:offset + size]]
        token = str(offset + size) if offset + size < len(chosen) else ""
        return volumes_pb2.ListVolumesResponse(volumes=items, next_page_token=token)

    @rpc_errors
    def DeleteVolume(self, request, context):
        project = validate.project(request.project)
        volume = self._volume(project, request.name)
        self.proposer.propose("volume.delete", {"id": volume["id"], "cascade": request.cascade})
        return volumes_pb2.DeleteVolumeResponse()

    @rpc_errors
    def ResizeVolume(self, request, context):
        project = validate.project(request.project)
        size = volume_input.size(request.size_bytes)
        volume = self._volume(project, request.name)
        if size < volume["size_bytes"]:
            raise InvalidArgument("size_bytes", f"volumes only grow: {volume['name']} is "
                                                f"{volume['size_bytes']} bytes")
        with self.store.read_lock:
            state = self.store.read()
            attached = v.attached_instance(state, volume)
            # A VM's qemu holds the file open and grows it itself (libvirt blockResize).
            if state.pools.get(volume["host_id"], {}).get("driver") == "file" and attached is not None \
                    and attached["spec"].get("kind", "container") != "vm":
                raise FailedPrecondition(f"volume {volume['name']} is attached to a container and its "
                                         "host's file driver grows those detached only; detach it first")
        self.proposer.propose("volume.resize", {"id": volume["id"], "size_bytes": size,
                                                "overcommit": overcommit(self.config)})
        return self._volume_answer(volume["id"])

    @rpc_errors
    def AttachVolume(self, request, context):
        project = validate.project(request.project)
        if request.path:
            v.check_path(request.path)
        if not request.instance:
            raise InvalidArgument("instance", "is required")
        volume = self._volume(project, request.name)
        with self.store.read_lock:
            instance = self.store.read().instance_by_ref(project, request.instance)
            if instance is None:
                raise NotFound(f"instance {request.instance!r} not found in project {project!r}")
            instance_id = instance["id"]
            path = volume_input.attach_path(instance["spec"].get("kind", "container"), request.path,
                                            volume["id"])
        self.proposer.propose("volume.attach", {"id": volume["id"], "instance_id": instance_id, "path": path})
        return self._volume_answer(volume["id"])

    @rpc_errors
    def DetachVolume(self, request, context):
        project = validate.project(request.project)
        volume = self._volume(project, request.name)
        self.proposer.propose("volume.detach", {"id": volume["id"]})
        return self._volume_answer(volume["id"])

    @rpc_errors
    def RevertVolume(self, request, context):
        project = validate.project(request.project)
        volume = self._volume(project, request.name)
        with self.store.read_lock:
            snapshot = volume_input.find_snapshot(self.store.read(), project, request.snapshot)
        self.proposer.propose("volume.revert", {"id": volume["id"], "snapshot_id": snapshot["id"]})
        return self._volume_answer(volume["id"])

    @rpc_errors
    def ListStoragePools(self, request, context):
        with self.store.read_lock:
            state = self.store.read()
            pools = [pool_pb(host_id, pool, state, overcommit(self.config))
                     for host_id, pool in sorted(state.pools.items())]
        return volumes_pb2.ListStoragePoolsResponse(pools=pools)


class SnapshotsServicer(_Base, volumes_pb2_grpc.SnapshotsServicer):
    def _snapshot_answer(self, snapshot_id: str):
        with self.store.read_lock:
            state = self.store.read()
            record = state.snapshots.get(snapshot_id)
            if record is None:
                raise NotFound(f"snapshot {snapshot_id} not found")
            return snapshot_pb(record, state)

    @rpc_errors
    def CreateSnapshot(self, request, context):
        name = check_name(request.name, "name")
        project = validate.project(request.project)
        labels = check_labels(dict(request.labels))
        volume = self._volume(project, request.volume, "volume")
        with self.store.read_lock:
            state = self.store.read()
            existing = state.snapshot_names.get(r.name_key(project, name))
            if existing:
                if request.request_id and state.snapshots[existing].get("request_id") == request.request_id:
                    return snapshot_pb(state.snapshots[existing], state)
                raise AlreadyExists(f"snapshot {name!r} already exists in project {project!r}")
            pool = state.pools.get(volume["host_id"], {})
            if pool.get("driver") == "file" and v.attached_instance(state, volume) is not None:
                # qemu holds the file of an attached volume; the file driver snapshots idle ones.
                raise FailedPrecondition(f"volume {volume['name']} is attached and its host's file "
                                         "driver snapshots detached volumes only; detach it first")
        result = self.proposer.propose("snapshot.create", {
            "id": new_id("s"), "name": name, "project": project, "labels": labels,
            "volume_id": volume["id"], "overcommit": overcommit(self.config),
            "request_id": request.request_id},
            rid=retry_rid(request.request_id, "snapshot.create", project, name))
        return self._snapshot_answer(result["snapshot"]["id"])

    @rpc_errors
    def GetSnapshot(self, request, context):
        project = validate.project(request.project)
        with self.store.read_lock:
            state = self.store.read()
            return snapshot_pb(volume_input.find_snapshot(state, project, request.name, "name"), state)

    @rpc_errors
    def ListSnapshots(self, request, context):
        project = validate.project(request.project)
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            state = self.store.read()
            volume_id = volume_input.find_volume(state, project, request.volume)["id"] if request.volume else ""
            chosen = sorted((s for s in state.snapshots.values() if s["project"] == project
                             and (not volume_id or s["volume_id"] == volume_id)),
                            key=lambda s: (s["name"], s["id"]))
            items = [snapshot_pb(s, state) for s in chosen[offset:offset + size]]
        token = str(offset + size) if offset + size < len(chosen) else ""
        return volumes_pb2.ListSnapshotsResponse(snapshots=items, next_page_token=token)

    @rpc_errors
    def DeleteSnapshot(self, request, context):
        project = validate.project(request.project)
        with self.store.read_lock:
            snapshot = dict(volume_input.find_snapshot(self.store.read(), project, request.name, "name"))
        self.proposer.propose("snapshot.delete", {"id": snapshot["id"]})
        return volumes_pb2.DeleteSnapshotResponse()
