"""The one place every gRPC call is authenticated, authorized and audited.

For each call: resolve the identity (resolve.py) → find the method's rule
(permissions.py) and the project the request names → decide (policy.py) →
run the servicer with the identity bound (identity.current()) → hand an audit
entry to the writer when the call changes something.
"""
from __future__ import annotations

import logging
import time

import grpc

from common.errors import CloudError, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted
from common.ids import check_name
from scheduler.auth import identity as ident
from scheduler.auth.permissions import (AGENT, CLUSTER, DEFAULT_PROJECT, NODE, PROJECT, PUBLIC, SELF,
                                        rule_for)
from scheduler.auth.policy import decide
from scheduler.auth.ratelimit import source_of
from scheduler.auth.streams import StreamLimiter
from scheduler.state import iam

log = logging.getLogger(__name__)


def request_project(request, field: str = "project", depth: int = 2) -> str:
    """The project a request names: its `field`, else a `project` field of a top-level
    message (UpdateInstance's instance.meta.project), else "default"."""
    descriptor = request.DESCRIPTOR
    own = descriptor.fields_by_name.get(field)
    if own is not None and own.type == own.TYPE_STRING and not own.is_repeated:
        return getattr(request, field) or DEFAULT_PROJECT
    if depth:
        for sub in descriptor.fields:
            if sub.type == sub.TYPE_MESSAGE and not sub.is_repeated \
                    and not sub.message_type.GetOptions().map_entry and request.HasField(sub.name):
                found = request_project(getattr(request, sub.name), "project", depth - 1)
                if found != DEFAULT_PROJECT:
                    return found
    return DEFAULT_PROJECT


def request_resource(request) -> str:
    """The name a request acts on, for the audit log (never a value or a spec)."""
    for field in ("name", "id", "principal"):
        fd = request.DESCRIPTOR.fields_by_name.get(field)
        if fd is not None and fd.type == fd.TYPE_STRING and not fd.is_repeated:
            value = getattr(request, field)
            if value:
                return value[:200]
    return ""


class AuthInterceptor(grpc.ServerInterceptor):
    def __init__(self, store, resolver, audit_writer=None, clock=time.time, streams=None, refusals=None):
        """`refusals` (a RefusalAggregator) takes refused calls' entries; else they go to the writer."""
        self.store = store
        self.resolver = resolver
        self.audit = audit_writer
        self.refusals = refusals
        self.clock = clock
        self.streams = streams if streams is not None else StreamLimiter()

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        rule = rule_for(method)
        if rule.scope == PUBLIC:
            # Health watches and reflection are streams too: counted per source address.
            return self._limit_public_stream(handler) if handler.response_streaming else handler
        if handler.request_streaming:
            # The request is not known before the call: only superusers (and, for the
            # node API, agents) may use streaming requests.
            return self._wrap_streaming_request(handler, method, rule)
        if handler.response_streaming:
            return handler._replace(unary_stream=self._guard_stream(handler.unary_stream, method, rule))
        return handler._replace(unary_unary=self._guard_unary(handler.unary_unary, method, rule))

    # -- the decision -------------------------------------------------------------

    def _admit(self, request, context, method: str, rule) -> tuple[ident.Identity, str, str, str]:
        """(identity, permission, project, source) or raise the CloudError to answer with."""
        source = source_of(context.peer())
        who = self.resolver.identity(context.invocation_metadata(), context.auth_context(), source)
        try:
            return self._decide(request, who, rule, source)
        except CloudError as err:
            err.who = who   # the refusal's audit entry names the caller
            raise

    def _decide(self, request, who, rule, source):
        permission, scope, project = rule.permission, rule.scope, ""
        if rule.resolve is not None and request is not None:
            permission, scope, project = rule.resolve(request)
        elif scope == PROJECT:
            project = request_project(request, rule.project_field) if request is not None else ""
            if request is None:
                scope = CLUSTER
        if who.kind == "agent":
            if scope not in (AGENT, NODE):
                raise PermissionDenied("agent certificates may only use the node API")
            return who, permission, "", source
        if scope == AGENT:
            raise PermissionDenied("the node API is for agents (certificate role 'agent')")
        if scope == NODE:
            if who.kind != "scheduler" or who.via != ident.CERTIFICATE:
                raise PermissionDenied("only agent and scheduler certificates renew over the node API")
            return who, permission, "", source
        if scope == SELF:
            return who, permission, "", source
        if scope == PROJECT:
            check_name(project, rule.project_field if rule.resolve is None else "project")
        refusal = decide(who, permission, project if scope == PROJECT else "")
        if refusal is not None:
            raise refusal
        if scope == PROJECT:
            with self.store.read_lock:
                exists = iam.project(self.store.read(), project) is not None
            if not exists:
                raise NotFound(f"project {project!r} not found")
        return who, permission, project if scope == PROJECT else "", source

    # -- wrappers -------------------------------------------------------------------

    def _guard_unary(self, behavior, method, rule):
        def guarded(request, context):
            try:
                who, permission, project, source = self._admit(request, context, method, rule)
            except CloudError as err:
                self._audit_refusal(rule, method, request, context, err)
                context.abort(err.code, err.message)
            token = ident.bind(who)
            outcome = "UNKNOWN"
            try:
                response = behavior(request, context)
                outcome = _outcome(context, "OK")
                return response
            except Exception:
                outcome = _outcome(context, "UNKNOWN")
                raise
            finally:
                ident.unbind(token)
                self._audit(rule, permission, who, project, method, request, outcome, source)
        return guarded

    def _guard_stream(self, behavior, method, rule):
        def guarded(request, context):
            try:
                who, _, _, _ = self._admit(request, context, method, rule)
                release = self._open_stream(who, context)
            except CloudError as err:
                context.abort(err.code, err.message)

            def stream():
                token = ident.bind(who)
                try:
                    yield from behavior(request, context)
                finally:
                    ident.unbind(token)
                    release()
            return stream()
        return guarded

    def _limit_public_stream(self, handler):
        def limited(inner):
            def stream(request_or_requests, context):
                try:
                    release = self._open_stream_as(f"peer:{source_of(context.peer())}", context)
                except CloudError as err:
                    context.abort(err.code, err.message)
                try:
                    yield from inner(request_or_requests, context)
                finally:
                    release()
            return stream
        if handler.request_streaming:
            return handler._replace(stream_stream=limited(handler.stream_stream))
        return handler._replace(unary_stream=limited(handler.unary_stream))

    def _open_stream(self, who, context):
        """A slot of the stream limiter, given back when the stream ends or the client leaves."""
        return self._open_stream_as(who.audit_name, context)

    def _open_stream_as(self, principal: str, context):
        release = self.streams.acquire(principal)
        if not context.add_callback(release):
            release()   # the call already ended
            raise ResourceExhausted("the call ended before its stream started")
        return release

    def _wrap_streaming_request(self, handler, method, rule):
        def check(context):
            try:
                return self._admit(None, context, method, rule)[0]
            except CloudError as err:
                context.abort(err.code, err.message)

        if handler.response_streaming:
            inner = handler.stream_stream

            def stream_stream(requests, context):
                who = check(context)
                try:
                    release = self._open_stream(who, context)
                except CloudError as err:
                    context.abort(err.code, err.message)
                token = ident.bind(who)
                try:
                    yield from inner(requests, context)
                finally:
                    ident.unbind(token)
                    release()
            return handler._replace(stream_stream=stream_stream)
        inner_unary = handler.stream_unary

        def stream_unary(requests, context):
            who = check(context)
            token = ident.bind(who)
            try:
                return inner_unary(requests, context)
            finally:
                ident.unbind(token)
        return handler._replace(stream_unary=stream_unary)

    # -- audit ---------------------------------------------------------------------

    def _audit(self, rule, permission, who, project, method, request, outcome, source) -> None:
        verb = permission.rpartition(".")[2]
        if self.audit is None or who.kind == "agent" or not rule.mutating or verb in ("whoami",):
            return
        self.audit.record({"ts": int(self.clock() * 1000), "principal": who.audit_name,
                           "via": who.via, "project": project, "action": permission,
                           "method": method, "resource": request_resource(request),
                           "outcome": outcome, "address": source})

    def _audit_refusal(self, rule, method, request, context, err: CloudError) -> None:
        if self.audit is None or not rule.mutating or rule.scope in (AGENT, NODE):
            return
        if isinstance(err, InvalidArgument):
            return
        project = ""
        try:
            project = request_project(request, rule.project_field) if rule.scope == PROJECT else ""
        except Exception:  # noqa: BLE001 - an odd request must not keep the refusal unlogged
            project = ""
        who = getattr(err, "who", None)
        sink = self.refusals.record if self.refusals is not None else self.audit.record
        sink({"ts": int(self.clock() * 1000),
                           "principal": who.audit_name if who else "-", "via": who.via if who else "",
                           "project": project, "action": rule.permission, "method": method,
                           "resource": request_resource(request), "outcome": err.code.name,
                           "address": source_of(context.peer())})


def _outcome(context, default: str) -> str:
    try:
        code = context.code()
    except Exception:  # noqa: BLE001 - older grpcio: no code() on the context
        code = None
    if code is None:
        return default
    return code.name if hasattr(code, "name") else str(code)
