"""A stand-in for the scheduler process in tests: hosts one RaftStore, prints the Raft
process pid, then waits to be killed."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

from scheduler.store.testing import TEST_MACHINE, TEST_PASSWORD  # noqa: E402
from scheduler.store.client import RaftStore  # noqa: E402


def main() -> None:
    address, data_dir = sys.argv[1], sys.argv[2]
    store = RaftStore(TEST_MACHINE, address, [address], data_dir, TEST_PASSWORD)
    store.start()
    print(store.raft_pid, flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
