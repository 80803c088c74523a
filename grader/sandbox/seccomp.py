"""The system calls no sandboxed process may make, as a seccomp filter that bubblewrap loads (``--seccomp FD``).

Student code already runs with no capability (see privilege.py), so most of these calls fail anyway; the
filter is a second wall, and it closes what capabilities do not: the kernel's keyrings (``add_key``,
``keyctl``, ``request_key``) are not namespaced by anything but the user, so a key one job adds would be
read by the next job of the same warm sandbox; ``ptrace``, ``process_vm_readv`` and friends would reach
another process's memory wherever the kernel's own checks allow it. Each blocked call fails with EPERM.
System calls of a foreign ABI (32-bit calls on x86-64, x32) fail with ENOSYS: nothing the grader runs
uses them, and they would bypass a table of native numbers.

The filter is classic BPF over ``struct seccomp_data`` (``nr`` at offset 0, ``arch`` at offset 4),
written out here rather than compiled by libseccomp, which not every machine has.
tests/test_privilege.py checks the numbers against libseccomp where it is installed.
"""

from __future__ import annotations

import errno
import platform
import struct

#: the blocked calls, by name: what no student code needs and what could cross from one job to the next
BLOCKED = (
    "add_key", "keyctl", "request_key",  # keyrings: per user, shared by every job of a warm sandbox
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "process_madvise",  # other processes
    "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "unshare", "setns",  # namespaces and mounts
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "open_by_handle_at",
    "acct", "swapon", "swapoff", "reboot", "syslog", "quotactl", "sethostname", "setdomainname",
)

#: system call numbers of each supported ABI (x86-64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64: the
#: generic table, include/uapi/asm-generic/unistd.h)
NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {
        "add_key": 248, "keyctl": 250, "request_key": 249, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "pidfd_getfd": 438, "process_madvise": 440, "mount": 165, "umount2": 166,
        "pivot_root": 155, "chroot": 161, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442, "unshare": 272, "setns": 308, "bpf": 321,
        "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "open_by_handle_at": 304, "acct": 163, "swapon": 167,
        "swapoff": 168, "reboot": 169, "syslog": 103, "quotactl": 179, "sethostname": 170, "setdomainname": 171,
    },
    "aarch64": {
        "add_key": 217, "keyctl": 219, "request_key": 218, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "pidfd_getfd": 438, "process_madvise": 440, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442, "unshare": 97, "setns": 268, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "open_by_handle_at": 265, "acct": 89, "swapon": 224,
        "swapoff": 225, "reboot": 142, "syslog": 116, "quotactl": 60, "sethostname": 161, "setdomainname": 162,
    },
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_BIT = 0x40000000  #: x86-64's x32 ABI: the same calls under other numbers

_LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000


def machine() -> str | None:
    """The ABI the filter is written for here, or None where this module has no table."""
    name = platform.machine().lower()
    name = {"amd64": "x86_64", "arm64": "aarch64"}.get(name, name)
    return name if name in NUMBERS else None


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(arch: str | None = None) -> bytes | None:
    """The filter for ``arch`` (default: this machine's) as bwrap reads it, or None without a table."""
    arch = arch or machine()
    if arch is None:
        return None
    numbers = sorted({NUMBERS[arch][name] for name in BLOCKED})
    deny, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    body = [_op(_LD_ABS, 0)]  # the call's number
    if arch == "x86_64":
        body.append(_op(_JGE, X32_BIT, jt=len(numbers) + 2, jf=0))  # -> the ENOSYS return
    for i, nr in enumerate(numbers):
        body.append(_op(_JEQ, nr, jt=len(numbers) - i, jf=0))  # -> the EPERM return
    body += [_op(_RET, _ALLOW), _op(_RET, deny), _op(_RET, enosys)]
    head = [_op(_LD_ABS, 4), _op(_JEQ, AUDIT_ARCH[arch], jt=0, jf=len(body) - 1)]  # a foreign ABI -> ENOSYS
    return b"".join(head + body)
