"""Secrets at rest: encrypted with the cluster key before they reach Raft (box.py),
decrypted only on the leader when an instance needs them (delivery.py)."""
