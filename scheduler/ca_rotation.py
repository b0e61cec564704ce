"""`cloud cluster rotate-ca`: a new cluster CA without downtime.

The replicated `ca_rotation` record (scheduler/state/trust.py) carries the trust
bundle; `TrustKeeper` runs on every scheduler and keeps its files in line with it:
its `ca.crt` (the servers' and channels' credentials reload changed files), the
`ca.crt` beside the CA key where it holds one, its own certificate (renewed when
due and in the reissue phase), and its report of the CA that certificate is from.
`CaRotation` is what `Operations.RotateCa` does.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from common.errors import FailedPrecondition, InvalidArgument
from common.tls import (create_ca, fingerprint, issuer_fingerprint, peer_certificate,
                        signing_certificate, write_atomic)
from cryptography.hazmat.primitives.serialization import Encoding
from proto.v1 import operations_pb2
from scheduler import membership
from scheduler.own_certificate import OwnCertificate
from scheduler.state.trust import UNDER_WAY, pending

log = logging.getLogger(__name__)

PHASES = ("", "begin", "reissue", "finish")


def _rotation(store) -> dict:
    with store.read_lock:
        state = store.read()
        rotation = dict(state.ca_rotation)
        rotation["members"] = dict(rotation.get("members", {}))
        rotation["pending"] = pending(state) if rotation.get("phase") else []
    return rotation


def retired_key(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".old")


def ca_cert_beside(key_file: Path) -> Path:
    return key_file.with_suffix(".crt")


class CaRotation:
    def __init__(self, store, proposer, config, tls, key_file: Path):
        self.store = store
        self.proposer = proposer
        self.config = config
        self.tls = tls
        self.key_file = Path(key_file)

    def reply(self) -> operations_pb2.RotateCaResponse:
        rotation = _rotation(self.store)
        return operations_pb2.RotateCaResponse(
            phase=rotation.get("phase", ""), new_ca_fingerprint=rotation.get("new_fp", ""),
            old_ca_fingerprint=rotation.get("old_fp", ""), pending=rotation["pending"],
            bundle_pem=rotation.get("bundle", "").encode())

    def run(self, phase: str, context) -> operations_pb2.RotateCaResponse:
        if phase not in PHASES:
            raise InvalidArgument("phase", "must be begin, reissue, finish or empty (the state)")
        if phase == "begin":
            self.begin()
        elif phase == "reissue":
            self.reissue()
        elif phase == "finish":
            self.finish(context)
        return self.reply()

    def begin(self) -> None:
        if not self.key_file.exists():
            raise FailedPrecondition("this scheduler holds no CA key (ca_key_file): "
                                     "ask the one that does")
        rotation = _rotation(self.store)
        if rotation.get("phase") in UNDER_WAY:
            raise FailedPrecondition(f"a CA rotation is under way (phase {rotation['phase']}): "
                                     f"reissue and finish it first")
        old_key_pem = self.key_file.read_bytes()
        old_key = serialization.load_pem_private_key(old_key_pem, password=None)
        try:
            old_ca = signing_certificate(self.tls.ca.read_bytes(), old_key).public_bytes(Encoding.PEM)
        except ValueError:
            raise FailedPrecondition(f"no certificate in {self.tls.ca} belongs to the CA key") from None
        generation = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        new_ca, new_key = create_ca(self.config.cluster_name, generation=generation)
        # The key is on disk before the state names its certificate; it signs from the rename on.
        staged = self.key_file.with_name(self.key_file.name + ".new")
        write_atomic(staged, new_key, 0o600)
        try:
            self.proposer.propose("ca_rotation.begin", {
                "new_ca": new_ca.decode(), "old_ca": old_ca.decode(),
                "new_fp": fingerprint(new_ca), "old_fp": fingerprint(old_ca)})
        except Exception:
            staged.unlink(missing_ok=True)
            raise
        bundle = old_ca + new_ca
        write_atomic(self.tls.ca, bundle)
        if ca_cert_beside(self.key_file).exists():
            write_atomic(ca_cert_beside(self.key_file), bundle)
        write_atomic(retired_key(self.key_file), old_key_pem, 0o600)
        staged.replace(self.key_file)
        log.warning("CA rotation begun: new CA %s (old %s); certificates are signed by the new one",
                    fingerprint(new_ca), fingerprint(old_ca))

    def reissue(self) -> None:
        rotation = _rotation(self.store)
        if rotation.get("phase") in UNDER_WAY:
            missing = [m.name for m in membership.current_members(self.store, self.config)
                       if m.name not in rotation["members"]]
            if missing:
                raise FailedPrecondition("schedulers have not written the new trust bundle yet: "
                                         + ", ".join(missing))
        self.proposer.propose("ca_rotation.reissue", {})
        log.warning("CA rotation: reissue (agents renew their certificates now)")

    def finish(self, context) -> None:
        rotation = _rotation(self.store)
        caller = (context.auth_context().get("x509_pem_cert") or [b""])[0]
        if rotation.get("phase") == "reissue" and \
                issuer_fingerprint(caller, rotation["new_ca"].encode()) != rotation["new_fp"]:
            name = peer_certificate(context.auth_context()).common_name
            raise FailedPrecondition(f"certificates still from the old CA: admin/{name} (yours)")
        self.proposer.propose("ca_rotation.finish", {})
        log.warning("CA rotation finished: only the new CA %s is trusted", rotation.get("new_fp"))


class TrustKeeper(threading.Thread):
    """Once a second: writes the replicated trust bundle into this scheduler's files,
    keeps its own certificate fresh (scheduler/own_certificate.py: when due, and in
    the reissue phase) and reports the CA its certificate is from."""

    def __init__(self, store, proposer, config, tls, key_file: Path, signer=None, interval: float = 1.0):
        super().__init__(name="trust-keeper", daemon=True)
        self.store = store
        self.proposer = proposer
        self.config = config
        self.tls = tls
        self.key_file = Path(key_file)
        self.interval = interval
        self.own = None if signer is None else OwnCertificate(
            config.name, tls, signer, proposer, peers=self._peer_addresses)
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def _peer_addresses(self) -> list[str]:
        return [m.api for m in membership.current_members(self.store, self.config) if m.name != self.config.name]

    def step(self) -> None:
        rotation = _rotation(self.store)
        if rotation.get("bundle"):
            self._write_bundle(rotation)
        if self.own is not None:
            try:
                self.own.step(rotation)
            except Exception as err:  # noqa: BLE001 - the bundle and the report go on
                log.warning("renewing this scheduler's certificate failed (will retry): %s", err)
        if rotation.get("phase") in UNDER_WAY:
            own = issuer_fingerprint(self.tls.cert.read_bytes(), rotation["bundle"].encode())
            if rotation["members"].get(self.config.name) != own:
                self.proposer.propose("ca_rotation.member", {"name": self.config.name, "fp": own})
        elif rotation.get("phase") == "finished":
            retired_key(self.key_file).unlink(missing_ok=True)

    def _write_bundle(self, rotation: dict) -> None:
        bundle = rotation["bundle"].encode()
        if self.tls.ca.read_bytes() != bundle:
            write_atomic(self.tls.ca, bundle)
            log.info("wrote the cluster's trust bundle (CA rotation phase %s) to %s",
                     rotation["phase"], self.tls.ca)
        beside = ca_cert_beside(self.key_file)
        if self.key_file.exists() and beside.exists() and beside.read_bytes() != bundle:
            write_atomic(beside, bundle)

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.step()
            except Exception as err:  # noqa: BLE001 - keep following the state
                log.warning("trust bundle: %s (will retry)", err)
