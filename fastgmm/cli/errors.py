"""How a command fails: `CLIError` (one line on stderr, exit code 1), the
`_command` wrapper that turns exceptions, signals and warnings into such
lines; `ArgumentParser`, whose argument errors are one line and a pointer to
``--help`` (exit code 2, argparse's).
"""

import argparse
import os
import signal
import sys
import threading
import warnings
from contextlib import ExitStack, contextmanager


class CLIError(Exception):
    """A problem to report to the user in one line."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser (and its subcommands'), whose argument errors print
    the error's line and one line naming ``--help`` instead of the usage
    block, and exit with argparse's code 2 (a usage error, not an input
    problem)."""

    def error(self, message):
        self.exit(2, f"fastgmm: error: {_one_line(message)}\n"
                     f"see '{self.prog} --help' for the options\n")


def _one_line(message):
    return " ".join(str(message).split())


def _command(func):
    """Run a command; report any input problem in one line, exit code 1.

    ``args.cleanup`` (an ExitStack) closes the data (removing its temporary
    files) when the command ends, however it ends; SIGTERM ends it as an
    interrupt does, so that this happens then too.
    """

    def run(args):
        try:
            with ExitStack() as cleanup, _warnings_as_lines(), _terminate_cleanly():
                args.cleanup = cleanup
                return func(args)
        except KeyboardInterrupt:
            print("fastgmm: interrupted", file=sys.stderr)
            return 130
        except _Terminated:
            print("fastgmm: terminated", file=sys.stderr)
            return 143
        except BrokenPipeError:
            # the reader of our standard output went away (e.g. `| head`)
            sys.stdout = open(os.devnull, "w")
            return 0
        except (CLIError, ValueError, OSError, ImportError, MemoryError) as exc:
            message = _one_line(exc) or type(exc).__name__
            if isinstance(exc, MemoryError):
                message = "out of memory"
            print(f"fastgmm: error: {message}", file=sys.stderr)
            return 1

    run.__name__ = func.__name__
    return run


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanups run."""


@contextmanager
def _terminate_cleanly():
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _warnings_as_lines():
    """Print each distinct warning as one 'fastgmm: warning:' line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # columns are matched by name before the arrays reach the model
        warnings.filterwarnings("ignore", message=".*feature names.*")
        try:
            yield
        finally:
            seen = set()
            for w in caught:
                text = _one_line(w.message)
                if text not in seen:
                    seen.add(text)
                    print(f"fastgmm: warning: {text}", file=sys.stderr)
