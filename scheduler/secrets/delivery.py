"""Secrets into instances: the leader fills `spec.env` from `spec.secret_env` just
before it asks the agent (over mTLS), so the value exists in plaintext only in the
call and on the host that runs the instance — never in the state or in a log."""
from __future__ import annotations

from common.errors import FailedPrecondition
from scheduler.secrets.box import SecretBox
from scheduler.state import secrets as secret_state


def env_from_secrets(store, secret_file, instance: dict) -> dict[str, str]:
    """{variable: value} for the instance's secret_env; FailedPrecondition names a
    secret that is gone or cannot be read."""
    wanted = instance["spec"].get("secret_env") or {}
    if not wanted:
        return {}
    box = SecretBox.from_secret_file(secret_file)
    with store.read_lock:
        state = store.read()
        records = {var: secret_state.by_name(state, instance["project"], name)
                   for var, name in wanted.items()}
        records = {var: dict(rec) if rec else None for var, rec in records.items()}
    env = {}
    for var, record in sorted(records.items()):
        if record is None:
            raise FailedPrecondition(f"secret {wanted[var]!r} (for ${var}) not found in project "
                                     f"{instance['project']!r}")
        try:
            env[var] = box.open(record).decode("utf-8")
        except UnicodeDecodeError:
            raise FailedPrecondition(f"secret {wanted[var]!r} is not text; it cannot be an "
                                     "environment variable") from None
    return env
