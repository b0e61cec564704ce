"""The Secrets service: values are sealed with the cluster key before they are proposed."""
from __future__ import annotations

from common.errors import InvalidArgument, NotFound, rpc_errors
from common.ids import check_name, new_id
from proto.v1 import secrets_pb2, secrets_pb2_grpc
from scheduler.api import validate
from scheduler.api.iam_convert import secret_pb
from scheduler.secrets.box import SecretBox
from scheduler.state import secrets as secret_state

MAX_SECRET_BYTES = 64 * 1024


class SecretsServicer(secrets_pb2_grpc.SecretsServicer):
    def __init__(self, store, proposer, secret_file):
        self.store = store
        self.proposer = proposer
        self.box = SecretBox.from_secret_file(secret_file)

    def _find(self, project: str, ref: str) -> dict:
        if not ref:
            raise InvalidArgument("name", "is required")
        with self.store.read_lock:
            record = secret_state.by_name(self.store.read(), project, ref)
            record = dict(record) if record else None
        if record is None:
            raise NotFound(f"secret {ref!r} not found in project {project!r}")
        return record

    @rpc_errors
    def CreateSecret(self, request, context):
        name = check_name(request.name)
        project = validate.project(request.project)
        if not request.value:
            raise InvalidArgument("value", "is empty")
        if len(request.value) > MAX_SECRET_BYTES:
            raise InvalidArgument("value", f"at most {MAX_SECRET_BYTES} bytes")
        sealed = self.box.seal(project, name, bytes(request.value))
        result = self.proposer.propose("secret.create", {
            "id": new_id("s"), "name": name, "project": project,
            "size_bytes": len(request.value), **sealed})
        return secret_pb(result["secret"])

    @rpc_errors
    def ListSecrets(self, request, context):
        project = validate.project(request.project)
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            records = sorted((dict(s) for s in self.store.read().secrets.values()
                              if s["project"] == project), key=lambda s: (s["name"], s["id"]))
        page, token = validate.window(records, size, offset)
        return secrets_pb2.ListSecretsResponse(secrets=[secret_pb(s) for s in page],
                                               next_page_token=token)

    @rpc_errors
    def GetSecretValue(self, request, context):
        record = self._find(validate.project(request.project), request.name)
        return secrets_pb2.SecretValue(secret=secret_pb(record), value=self.box.open(record))

    @rpc_errors
    def DeleteSecret(self, request, context):
        record = self._find(validate.project(request.project), request.name)
        self.proposer.propose("secret.delete", {"id": record["id"]})
        return secrets_pb2.DeleteSecretResponse()
