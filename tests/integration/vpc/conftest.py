"""VPC tests need root (namespaces, netlink, nftables) besides the Docker Engine."""
import os
import shutil

import pytest

from tests.conftest import engine_missing


@pytest.fixture(scope="session")
def netns_capable():
    if os.geteuid() != 0:
        engine_missing("VPC tests need root: network namespaces, netlink and nftables")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            engine_missing(f"VPC tests need {tool!r} (iproute2, nftables)")


from vpc_outside import nat_cloud, nat_cluster  # noqa: E402,F401  (the NAT / floating IP / anti-spoofing cluster)
