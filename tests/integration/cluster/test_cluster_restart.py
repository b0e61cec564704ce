"""Stop the whole cluster and start it again: state intact, containers adopted."""
import time

from proto.v1 import public_pb2, resources_pb2 as pb

MiB = 1024**2


def test_full_cluster_restart_keeps_state_and_adopts_containers(cluster, docker_client):
    names = [f"keep{n}" for n in range(3)]
    for name in names:
        cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
            name=name, spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=16 * MiB,
                                            command=["sleep", "3600"])))
    before = {name: cluster.wait_instance(name) for name in names}
    started = {name: docker_client.containers.get(i.runtime_id).attrs["State"]["StartedAt"]
               for name, i in before.items()}

    cluster.aio.down()
    for instance in before.values():   # the containers outlive the cluster
        assert docker_client.containers.get(instance.runtime_id).status == "running"
    cluster.aio.up(wait=True)

    for name, instance in before.items():
        after = cluster.wait_instance(name)
        assert after.meta.id == instance.meta.id
        assert after.runtime_id == instance.runtime_id
        assert after.meta.created_at == instance.meta.created_at
        container = docker_client.containers.get(after.runtime_id)
        assert container.attrs["State"]["StartedAt"] == started[name], f"{name} was restarted"
    # A few passes of the reconciler later, still the same containers.
    time.sleep(3)
    for name, instance in before.items():
        assert docker_client.containers.get(instance.runtime_id).attrs["State"]["StartedAt"] == started[name]
