#!/usr/bin/env bash
# VPC networking: stateful security groups on bridged ports need br_netfilter
# (built in on Debian's cloud kernel, a module elsewhere) and bridge traffic
# handed to the inet family's hooks. Idempotent; as root only.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "40-vpc: not root, leaving br_netfilter alone" >&2
    exit 0
fi
if [[ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
    modprobe br_netfilter 2>/dev/null || echo "40-vpc: cannot load br_netfilter; security groups will not filter bridged ports" >&2
fi
# Each bridge the agent makes also sets nf_call_iptables itself; this is for
# kernels where the per-bridge option is missing.
if [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
    sysctl -q -w net.bridge.bridge-nf-call-iptables=1
fi
modprobe vxlan 2>/dev/null || true
