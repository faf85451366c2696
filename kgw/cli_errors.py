"""How every `kgw` command fails: one `Error: ...` line on stderr.

A command fails with `ToolError` (click prints it as one line and exits 1).
Usage mistakes, network and decoding failures that escape a command are
turned into the same kind of line by `ToolCommand`/`ToolGroup` (exit 2 for
usage), so no expected failure shows a traceback or click's usage block.
A reader of stdout that went away (`kgw consume ... | head`) ends the
command quietly, with status 0.

Kept free of the broker and the codec: `kgw serve` imports it too.
"""

import errno
import functools
import os
import sys

import click
from click.exceptions import NoArgsIsHelpError

from protocol.errors import ProtocolError


class ToolError(click.ClickException):
    """A failure the user can act on; its message is one line."""


class UsageProblem(ToolError):
    """Bad arguments, said in one line (click's own usage errors take three)."""

    exit_code = 2

    @classmethod
    def of(cls, exc: click.UsageError) -> "UsageProblem":
        # format_message() keeps click's "Did you mean ...?" on the same line.
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return cls(exc.format_message() + hint)


def stdout_closed() -> "click.exceptions.Exit":
    """The exit for a command whose stdout reader went away: status 0, and
    nothing more written (Python's own flush at exit would fail again)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's captured output)
    return click.exceptions.Exit(0)


def describe_os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _one_line_errors(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except NoArgsIsHelpError:
            raise  # `kgw topics` alone: the help is the answer
        except click.UsageError as exc:
            raise UsageProblem.of(exc) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise stdout_closed() from None
            raise ToolError(describe_os_error(exc)) from None
        except ProtocolError as exc:
            raise ToolError(f"unreadable answer from the broker: {exc}") from None
    return wrapper


class ToolCommand(click.Command):
    make_context = _one_line_errors(click.Command.make_context)
    invoke = _one_line_errors(click.Command.invoke)


class ToolGroup(click.Group):
    command_class = ToolCommand
    group_class = type  # its subgroups are ToolGroups too
    make_context = _one_line_errors(click.Group.make_context)
    invoke = _one_line_errors(click.Group.invoke)
