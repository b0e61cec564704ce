"""Block storage drivers: `lvm` (a thin pool) and `file` (qcow2 files), behind `StorageDriver`.

Only the standard library is used here, so the lvm driver and its tests also run
inside the qemu guest that has a kernel with device-mapper (tests/vm/volume/).
"""
