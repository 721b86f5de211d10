"""Linux /proc readers: a process's peak RSS and CPU time, the CPU time of the PostgreSQL server and
of the whole machine. Everything is read from outside the process, so that the reader costs it nothing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process has had so far, in MiB."""
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise LookupError(f"no VmHWM for process {pid}")


def _stat(pid: int | str) -> tuple[str, list[str]]:
    """(command name, the fields after it) of /proc/PID/stat."""
    text = (PROC / str(pid) / "stat").read_text()
    name = text[text.index("(") + 1 : text.rindex(")")]
    return name, text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process (all its threads) so far."""
    fields = _stat(pid)[1]
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15 of stat(5)


def command_cpu(name: str) -> dict[int, float]:
    """CPU time so far of every process called ``name`` (e.g. the PostgreSQL backends), whoever runs
    them, by process id."""
    out: dict[int, float] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command, fields = _stat(entry.name)
        except (OSError, ValueError):  # gone meanwhile
            continue
        if command == name:
            out[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def cpu_since(before: dict[int, float], after: dict[int, float], pids: set[int]) -> float:
    """CPU seconds used between two ``command_cpu`` readings by the processes ``pids`` (those alive at
    the second one)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items() if pid in pids)


@dataclass(frozen=True, slots=True)
class MachineCpu:
    busy: float  # CPU seconds not idle, all cores
    total: float  # CPU seconds, all cores

    @classmethod
    def now(cls) -> MachineCpu:
        values = [int(x) for x in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle, iowait
        total = sum(values[:8])  # without guest time, which is counted in user already
        return cls((total - idle) / TICKS, total / TICKS)

    def share_since(self, before: MachineCpu) -> float:
        """The share of all cores that was busy between ``before`` and this reading."""
        return (self.busy - before.busy) / max(1e-9, self.total - before.total)
