"""What only the leader runs: the loops that converge hosts on the state.

`reconciler` (each host's instances, its health and liveness), `volume_reconciler`,
`host_health`, `liveness` (heartbeats batched into Raft, hosts marked down),
`rescheduler` (host loss), `drain`, `evacuation`, the one `mover` they share, the
`reconcile_pacing` that spaces agent calls out, and `leader_loop`, the base of a
loop that runs while this node leads.
"""
