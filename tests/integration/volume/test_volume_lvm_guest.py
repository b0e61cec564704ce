"""The lvm driver against real LVM: its test module runs inside a qemu guest with device-mapper.

This machine's kernel has no device-mapper, so the guest built by
scripts/setup.d/60-volume.sh (Debian's cloud kernel, lvm2, python3-pytest)
boots under TCG with an empty second disk for the volume group; the JUnit report
comes back over the serial console. Missing guest or qemu: skipped locally,
failed under CI (engine_missing).
"""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import engine_missing

GUEST_DIR = Path(__file__).resolve().parents[2] / "vm" / "volume"
sys.path.insert(0, str(GUEST_DIR))

from volume_guest import GuestUnavailable, run_in_guest, send_back  # noqa: E402

SCRIPT = """\
set -u
modprobe dm-mod && modprobe dm-thin-pool && modprobe dm-snapshot
pvcreate -q /dev/vdc && vgcreate -q tcvg /dev/vdc
cd /code/src
PYTHONPATH=/code/src TC_VG=tcvg python3 -m pytest -v --durations=5 -p no:cacheprovider -o console_output_style=classic \\
    --junitxml=/tmp/junit.xml /code/guest_volume_lvm.py
rc=$?
""" + send_back("/tmp/junit.xml") + "exit $rc\n"


def test_lvm_driver_module_passes_inside_the_guest():
    try:
        run = run_in_guest(SCRIPT, {"guest_volume_lvm.py": GUEST_DIR / "guest_volume_lvm.py"},
                           timeout=600)
    except GuestUnavailable as err:
        engine_missing(str(err))
    tail = run.console[-6000:]
    assert "junit.xml" in run.files, f"no test report came back from the guest:\n{tail}"
    suite = ET.fromstring(run.files["junit.xml"])
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    tests, failures, errors, skipped = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    assert tests >= 5 and failures == 0 and errors == 0 and skipped == 0, tail
    assert run.returncode == 0, tail
