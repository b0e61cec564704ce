"""The KVM probe and failed domains without an engine: the probe guest's bytes against
its source, qemu's log read for the first line of an error, the choice of domain type,
and which libvirt states are failures."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import libvirt
import pytest

from agent.compute import probe_guest
from agent.compute.libvirt import domain_state, pause_failure
from agent.compute.qemulog import failure_reason, read_last_start
from agent.compute.virt_probe import KvmProbe, VirtType, choose_virt_type
from common.errors import FailedPrecondition
from proto.v1 import resources_pb2 as pb
from tests.conftest import REPO_ROOT, engine_missing

# libvirt's log of a kvm domain on a host whose KVM refuses an MSR (seen on these
# machines), the command line cut short.
MSR_LOG = """\
2026-12-01 10:00:00.000+0000: starting up libvirt version: 9.0.0, qemu version: 7.2.22
LC_ALL=C \\
/usr/bin/qemu-system-x86_64 \\
-name guest=old,debug-threads=on \\
-msg timestamp=on
2026-12-01T10:00:00.100000Z qemu-system-x86_64: error: something older
2026-12-01 10:00:01.000+0000: shutting down, reason=failed
2026-12-02 02:05:02.073+0000: starting up libvirt version: 9.0.0, qemu version: 7.2.22
LC_ALL=C \\
/usr/bin/qemu-system-x86_64 \\
-accel kvm \\
-cpu host,migratable=on \\
-msg timestamp=on
2026-12-02T02:05:02.150000Z qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]
2026-12-02T02:05:02.158148Z qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69
qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.
2026-12-02 02:05:02.163+0000: shutting down, reason=failed
"""

# What qemu writes when KVM cannot emulate an instruction, before it stops the guest.
EMULATION_LOG = """\
2026-12-02 03:00:00.000+0000: starting up libvirt version: 9.0.0, qemu version: 7.2.22
-msg timestamp=on
char device redirected to /dev/pts/3 (label charserial0)
KVM internal error. Suberror: 1
extra data[0]: 0x0000000000000000
extra data[1]: 0x0000000000000030
emulation failure
EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000663
ESI=00000000 EDI=00000000 EBP=00000000 ESP=00006f9c
EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =0000 00000000 0000ffff 00009300
CS =f000 ffff0000 0000ffff 00009b00
Code=00 00 00 00 00 00 00 00 <ea> 5b e0 00 f0 30 36 2f 32 33 2f 39 39 00 fc 00
"""


def test_probe_guest_bytes_are_its_assembled_source(tmp_path):
    nasm = shutil.which("nasm")
    if nasm is None:
        engine_missing("nasm is not installed (scripts/packages.d/vm.txt)")
    out = tmp_path / "probe.bin"
    subprocess.run([nasm, "-f", "bin", "-o", str(out),
                    str(REPO_ROOT / "agent" / "compute" / "probe_guest.asm")], check=True)
    assert probe_guest.disk_image(1024) == out.read_bytes()


def test_probe_guest_is_a_bootable_disk_with_five_stages():
    image = probe_guest.disk_image()
    assert len(image) == 1 << 20 and image[510:512] == b"\x55\xaa"
    assert [mark for mark, _ in probe_guest.STAGES] == list("RDPLS")
    assert probe_guest.stages_reached(b"RDP") == ["real mode", "a BIOS disk read", "protected mode"]
    assert probe_guest.stages_reached(b"") == []


def test_qemu_log_gives_the_last_starts_first_error_line(tmp_path):
    log = tmp_path / "dom.log"
    log.write_text(MSR_LOG)
    last = read_last_start(log)
    assert "something older" not in last and "failed to set MSR" in last
    assert failure_reason(last) == "failed to set MSR 0x10a to 0x69"
    assert read_last_start(tmp_path / "missing.log") == ""


def test_emulation_failure_is_named_without_its_register_dump():
    assert failure_reason(EMULATION_LOG) == "emulation failure"
    kvm_only = EMULATION_LOG.replace("emulation failure\n", "")
    assert failure_reason(kvm_only) == "KVM internal error. Suberror: 1"


def test_libvirt_error_message_gives_qemus_words():
    message = ("internal error: qemu unexpectedly closed the monitor: 2026-12-02T02:05:02.158148Z "
               "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: "
               "../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret' failed.")
    assert failure_reason(message) == "failed to set MSR 0x10a to 0x69"
    assert failure_reason("qemu-system-x86_64: warning: only a warning\n") == ""


def test_virt_type_choice_and_why():
    def probe(works: bool, reason: str = ""):
        def run():
            calls.append(1)
            return KvmProbe(works, reason)
        return run

    calls: list[int] = []
    assert choose_virt_type("qemu", probe(True)) == VirtType("qemu", "configured") and not calls
    assert choose_virt_type("auto", probe(True)).fingerprint() == "virt_type=kvm"
    assert choose_virt_type("kvm", probe(True)) == VirtType("kvm")
    reason = "emulation failure in a real-mode → long-mode boot"
    chosen = choose_virt_type("auto", probe(False, reason))
    assert chosen.fingerprint() == f"virt_type=qemu (kvm: {reason})"
    with pytest.raises(FailedPrecondition, match="virt_type = kvm, but KVM cannot run a guest here: "
                                                 "emulation failure"):
        choose_virt_type("kvm", probe(False, reason))


@pytest.mark.parametrize("reason, failed", [
    (libvirt.VIR_DOMAIN_PAUSED_IOERROR, True),
    (libvirt.VIR_DOMAIN_PAUSED_UNKNOWN, True),       # qemu's internal-error stop
    (libvirt.VIR_DOMAIN_PAUSED_CRASHED, True),
    (libvirt.VIR_DOMAIN_PAUSED_WATCHDOG, True),
    (libvirt.VIR_DOMAIN_PAUSED_USER, False),         # on purpose
    (libvirt.VIR_DOMAIN_PAUSED_STARTING_UP, False),  # passes by itself
    (libvirt.VIR_DOMAIN_PAUSED_MIGRATION, False),
])
def test_which_pauses_are_failures(reason, failed):
    assert (pause_failure(reason) is not None) == failed
    state, why, exit_code = domain_state(libvirt.VIR_DOMAIN_PAUSED, reason, "running")
    if failed:
        assert state == pb.INSTANCE_STATE_FAILED and why and exit_code == 1
    elif reason == libvirt.VIR_DOMAIN_PAUSED_USER:
        assert (state, why) == (pb.INSTANCE_STATE_STOPPED, "paused")
    else:
        assert state == pb.INSTANCE_STATE_RUNNING


def test_crashed_domains_are_failed_and_a_panic_is_named():
    panicked = domain_state(libvirt.VIR_DOMAIN_CRASHED, libvirt.VIR_DOMAIN_CRASHED_PANICKED, "running")
    assert panicked == (pb.INSTANCE_STATE_FAILED, "the guest kernel panicked", 1)
    gone = domain_state(libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED, "running")
    assert gone == (pb.INSTANCE_STATE_FAILED, "the guest crashed", 1)
    assert failure_reason("2026-12-02T02:15:06.963431Z qemu-system-x86_64: terminating on signal 15 "
                          "from pid 4688 (libvirtd)") == ""


def test_the_probe_source_sits_beside_its_bytes():
    assert (Path(probe_guest.__file__).with_suffix(".asm")).is_file()
