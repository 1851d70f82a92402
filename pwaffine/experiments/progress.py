"""Progress lines on stderr for long commands: counts, elapsed time and an ETA."""

import sys
import time

__all__ = ["Progress"]


def _duration(seconds):
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Counts finished steps of a task and prints one line per step.

    Parameters
    ----------
    total : int
        Number of steps.
    label : str
        Name of the task, at the start of every line.
    stream : file, optional
        Where the lines go; by default the current ``sys.stderr``.
    quiet : bool, default=False
        Print nothing.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> progress = Progress(2, "demo", stream=out)
    >>> progress.step("first")
    >>> out.getvalue().startswith("demo [1/2] first (")
    True
    """

    def __init__(self, total, label, stream=None, quiet=False):
        self.total = int(total)
        self.label = label
        self._stream = stream
        self.quiet = quiet
        self.done = 0
        self._start = time.perf_counter()

    @property
    def elapsed(self):
        """Seconds since the task started."""
        return time.perf_counter() - self._start

    def _print(self, line):
        if not self.quiet:
            print(line, file=self._stream or sys.stderr, flush=True)

    def message(self, text):
        """Print a line about the task that is not a step."""
        self._print(f"{self.label}: {text}")

    def step(self, note=""):
        """Record one finished step and print its line with the elapsed time and ETA."""
        self.done += 1
        elapsed = self.elapsed
        remaining = elapsed / self.done * (self.total - self.done)
        width = len(str(self.total))
        eta = f", ETA {_duration(remaining)}" if self.done < self.total else ""
        self._print(f"{self.label} [{self.done:{width}d}/{self.total}] {note} "
                    f"({_duration(elapsed)} elapsed{eta})".replace("  (", " ("))
