"""Background processes tracked by pid files: spawn, liveness, stop, log tails.

A pid file holds the decimal pid on its first line and, on the second, the address the server
was started for (so a changed configuration is noticed instead of waited on). Because the state
directory outlives reboots, a pid read back is trusted only if that process is alive *and* its
command line still contains the server's marker (``kafka.Kafka``, ``apicurio-registry``): a
recycled pid belonging to something else is never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Popen objects of servers started by this interpreter: holding them keeps Python from warning
# "subprocess is still running" when they are garbage collected (the servers outlive us on purpose).
_STARTED: list[subprocess.Popen] = []


def read_pid(pid_file: Path) -> int | None:
    """The pid stored in ``pid_file``, or None if it is missing or not a positive integer."""
    try:
        lines = pid_file.read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    text = lines[0].strip() if lines else ""
    return int(text) if text.isdigit() and int(text) > 0 else None


def read_address(pid_file: Path) -> str | None:
    """The address recorded beside the pid, if any."""
    try:
        lines = pid_file.read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return lines[1].strip() if len(lines) > 1 and lines[1].strip() else None


def write_pid(pid_file: Path, pid: int, address: str = "") -> None:
    """Store ``pid`` (and ``address``) atomically: write, then rename over the old file."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = pid_file.with_name(pid_file.name + ".tmp")
    tmp.write_text(f"{pid}\n{address}\n")
    tmp.replace(pid_file)


def remove_pid(pid_file: Path) -> None:
    pid_file.unlink(missing_ok=True)


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our exited child, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: its parent (or init) reaps it
        pass


def _cmdline(pid: int) -> str | None:
    """The process's command line, or None if it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # Field 3, after the parenthesised command name (which may itself contain spaces).
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def is_alive(pid: int, marker: str | None = None) -> bool:
    """True if ``pid`` runs and (where /proc tells) its command line contains ``marker``."""
    _reap(pid)
    if not _exists(pid) or _is_zombie(pid):
        return False
    if marker is None or not Path("/proc/self").exists():
        return True  # without /proc (macOS) the marker cannot be checked: trust the live pid
    cmdline = _cmdline(pid)
    return cmdline is not None and marker in cmdline


def live_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in ``pid_file`` if that process is still our server; drops a stale file."""
    pid = read_pid(pid_file)
    if pid is None:
        return None
    if is_alive(pid, marker):
        return pid
    remove_pid(pid_file)
    return None


def spawn(
    cmd: Sequence[str],
    *,
    log_file: Path,
    cwd: Path,
    env: Mapping[str, str],
    pid_file: Path,
    address: str,
    banner: str,
) -> int:
    """Start ``cmd`` detached (own session, so it survives our exit), output appended to
    ``log_file``; record its pid and ``address`` in ``pid_file`` and return the pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        log.write(f"\n===== {stamp} {banner}\n===== {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
            close_fds=True,
        )
    _STARTED.append(proc)
    write_pid(pid_file, proc.pid, address)
    return proc.pid


def terminate(pid: int, *, timeout: float, marker: str | None = None) -> str:
    """SIGTERM ``pid``, wait up to ``timeout`` s for it to exit, then SIGKILL.

    Returns "stopped", "killed" or "gone" (it had already exited).
    """
    if not is_alive(pid, marker):
        return "gone"
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "gone"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return "stopped"
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "stopped"
    for _ in range(50):  # SIGKILL cannot be ignored; give the kernel a moment
        if not is_alive(pid):
            break
        time.sleep(0.1)
    return "killed"


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a (possibly large) text file, or a note if it is missing."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))  # a log tail never needs more than this
            data = f.read()
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def rotate(log_file: Path, max_bytes: int = 20 * 1024 * 1024) -> None:
    """Keep one previous generation (``.1``) once a log grows past ``max_bytes``."""
    try:
        if log_file.stat().st_size > max_bytes:
            log_file.replace(log_file.with_name(log_file.name + ".1"))
    except FileNotFoundError:
        pass
