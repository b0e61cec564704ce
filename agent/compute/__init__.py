"""Compute drivers: what runs an instance on this host (containers today, VMs next)."""
