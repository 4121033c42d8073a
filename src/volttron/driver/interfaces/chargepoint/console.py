"""What a command owes the shell that runs it: exit codes, a quiet end when its reader goes away, one line on Ctrl-C.

Exit codes (README's table): 0 success; 1 a refused write or a failed check; 2 a configuration error or bad
command-line arguments; 3 the API could not be used; 130 interrupted (Ctrl-C); 141 stdout was closed early (e.g.
``| head``). 130 and 141 are what a shell reports for a program ended by SIGINT or SIGPIPE.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from typing import Any, Iterator

EXIT_OK, EXIT_REFUSED, EXIT_CONFIG, EXIT_API = 0, 1, 2, 3
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_PIPE = 128 + signal.SIGPIPE


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, carrying what the command had done by then (e.g. whether its write had been sent)."""


def fail(message: str) -> None:
    """One line on stderr (runs of whitespace, newlines included, become one space)."""
    print(" ".join(message.split()), file=sys.stderr)


def interrupted_line(exc: KeyboardInterrupt) -> str:
    return f"interrupted {exc}" if str(exc) else "interrupted"


def silence_closed_pipe() -> None:
    """After the reader of stdout went away: point stdout at /dev/null so that nothing else complains.

    Python flushes stdout once more at exit and would print "Exception ignored ... BrokenPipeError"; this is the
    recipe of the ``signal`` module's documentation ("Note on SIGPIPE").
    """
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file, e.g. a test's StringIO
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


@contextmanager
def ctrl_c_in_main_greenlet() -> Iterator[None]:
    """Make Ctrl-C raise KeyboardInterrupt in the main greenlet only, wherever it waits.

    Python's own handler raises it in whichever greenlet runs when the signal arrives, often gevent's hub, which then
    prints the exception and a timestamp before passing it on to the main greenlet.
    """
    import threading

    import gevent
    from gevent.hub import kill

    if threading.current_thread() is not threading.main_thread():  # only the main thread may handle signals
        yield
        return
    main = gevent.getcurrent()

    def on_sigint(signum: int, frame: Any) -> None:
        if gevent.getcurrent() is main:
            raise KeyboardInterrupt
        kill(main, KeyboardInterrupt)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
