"""Pure pieces of the lvm driver: its report parser and error classes (the driver itself runs in the guest)."""
from agent.storage.base import Busy, NoSpace, NotFound, StorageError
from agent.storage.lvm import LvmDriver, classify, parse_lvs

REPORT = """{
  "report": [
    {"lv": [
      {"lv_name":"thecloud-pool", "lv_size":"3850371072", "data_percent":"1.25", "lv_tags":"thecloud",
       "origin":"", "pool_lv":"", "lv_attr":"twi-aotz--", "vg_extent_size":"4194304"},
      {"lv_name":"vol-v-0001", "lv_size":"104857600", "data_percent":"50.00",
       "lv_tags":"thecloud", "origin":"snap-s-0001", "pool_lv":"thecloud-pool", "lv_attr":"Vwi-a-tz--",
       "vg_extent_size":"4194304"},
      {"lv_name":"snap-s-0001", "lv_size":"104857600", "data_percent":"",
       "lv_tags":"thecloud,thecloud.volume.v-0001", "origin":"", "pool_lv":"thecloud-pool",
       "lv_attr":"Vri---tz-k", "vg_extent_size":"4194304"}
    ]}
  ]
}"""


def test_lvs_json_is_parsed_into_dataclasses():
    pool, volume, snapshot = parse_lvs(REPORT)
    assert pool.is_thin_pool and pool.used_bytes == int(3850371072 * 0.0125)
    assert volume.size_bytes == 100 * 1024**2 and volume.used_bytes == 50 * 1024**2
    assert LvmDriver._volume(volume).origin_snapshot == "s-0001"
    assert snapshot.tags == ("thecloud", "thecloud.volume.v-0001") and snapshot.data_percent == 0.0


def test_lvm_messages_map_to_storage_errors():
    assert classify('Failed to find logical volume "vg/vol-v-1"') is NotFound
    assert classify("Insufficient free space: 10 extents needed") is NoSpace
    assert classify('Logical volume vg/vol-v-1 in use.') is Busy
    assert classify("something else") is StorageError


def test_without_udev_every_call_carries_the_config():
    assert LvmDriver("vg", udev=False).command("lvs", "vg")[:3] == [
        "lvs", "--config", "activation{udev_sync=0 udev_rules=0} devices{obtain_device_list_from_udev=0}"]
    assert LvmDriver("vg", udev=True).command("lvs", "vg") == ["lvs", "vg"]
