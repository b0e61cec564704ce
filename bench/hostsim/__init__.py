"""hostsim: a LOAD GENERATOR that simulates many agents in one process.

It exists to drive the real scheduler at fleet scale (bench/placement_*.py and
tests/integration/placement/). Each simulated host speaks the real node API over
mTLS with its own agent certificate (join, heartbeat with usage and observed
instances), and one gRPC server serves the Agent API for all of them (requests
carry `host_id`). Its "compute driver" only accounts resources: nothing runs.
It never stands in for the real agent or its drivers in their own tests.
"""
