"""`python -m bot mediators add|list|remove`: the dashboard's accounts, from the command line.

The password is read from standard input: asked twice (hidden) in a terminal, else the first line (a script:
`printf '%s\\n' "$PASSWORD" | python -m bot mediators add marie --queue lyon`). It never appears in arguments,
where `ps` and the shell history would show it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from bot.app.root import QUEUES_FILE
from bot.callbacks.queuefile import load_queues
from bot.config import Settings
from bot.dashboard.accounts import AccountError, Accounts, normalise_login
from bot.dashboard.passwords import PasswordError, check_new_password
from bot.storage import Storage


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mediators = sub.add_parser("mediators", help="the mediators' dashboard accounts (/mediateurs/)")
    actions = mediators.add_subparsers(dest="mediators_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="create an account, or update an existing one's password and queues; password read from stdin",
        description="Create a dashboard account (or update one: password, queues, and name when given). The "
        "password (12 characters at least) is asked twice in a terminal, else read from the first line of stdin.",
    )
    add.add_argument("login", metavar="LOGIN", help="the sign-in name (a-z, 0-9, . _ @ -), e.g. marie.dupont")
    add.add_argument(
        "--queue",
        action="append",
        required=True,
        metavar="Q",
        dest="queues",
        help="a queue of CATALOGUE_DIR/queues.yaml whose requests the mediator handles (repeat for several)",
    )
    add.add_argument("--name", help='the name the other mediators see (default: the login), e.g. "Marie D."')
    actions.add_parser("list", help="the accounts, their queues, whether removed")
    remove = actions.add_parser("remove", help="disable an account: its sessions end, it can no longer sign in")
    remove.add_argument("login", metavar="LOGIN")


async def run(settings: Settings, args: argparse.Namespace, stdin: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    if args.mediators_command == "add":
        try:
            login = normalise_login(args.login)
        except AccountError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        queues = load_queues(settings.catalogue_dir / QUEUES_FILE, default_chat_id=settings.mediator_chat_id)
        known = [q.name for q in queues.all]
        unknown = [q for q in args.queues if q not in known]
        if unknown:
            print(
                f"error: unknown queue {', '.join(repr(q) for q in unknown)}; the queues of "
                f"{settings.catalogue_dir / QUEUES_FILE} are: {', '.join(known)}",
                file=sys.stderr,
            )
            return 2
        read = _read_password(stdin)
        if read is None:
            return 2
        password = read
    storage = await Storage.open(settings.database_url)
    try:
        accounts = Accounts(storage)
        if args.mediators_command == "add":
            try:
                saved = await accounts.save(login, password, list(dict.fromkeys(args.queues)), args.name)
            except (AccountError, PasswordError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            queue_list = ", ".join(dict.fromkeys(args.queues))
            messages = {
                "created": f"account {login} created (queues: {queue_list})",
                "updated": f"account {login} already existed: password and queues updated (queues: {queue_list}); "
                "its open sessions were ended",
                "enabled": f"account {login} had been removed: enabled again with the new password "
                f"(queues: {queue_list})",
            }
            print(messages[saved])
            return 0
        if args.mediators_command == "list":
            rows = await accounts.all()
            if not rows:
                print("no account yet: python -m bot mediators add LOGIN --queue Q")
            for row in rows:
                state = f"removed {row.disabled_at:%Y-%m-%d}" if row.disabled_at else "active"
                print(f"{row.login}\t{row.name}\t{','.join(row.queues)}\t{state}")
            return 0
        if await accounts.remove(args.login):
            print(f"account {args.login.strip().lower()} removed: it can no longer sign in")
            return 0
        print(f"error: no active account {args.login!r}", file=sys.stderr)
        return 1
    finally:
        await storage.close()


def _read_password(stdin: TextIO) -> str | None:
    """The new password: asked twice in a terminal, else the first line of stdin. None (after saying why) when
    it is refused."""
    try:
        if stdin.isatty():
            password = getpass.getpass("Password (12 characters at least): ")
            if getpass.getpass("Same password again: ") != password:
                print("error: the two passwords differ", file=sys.stderr)
                return None
        else:
            password = stdin.readline().rstrip("\r\n")
            if not password:
                print(
                    "error: no password on stdin (give it on the first line, or run this in a terminal)",
                    file=sys.stderr,
                )
                return None
        check_new_password(password)
    except PasswordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    except EOFError:
        print("error: no password given on stdin", file=sys.stderr)
        return None
    return password
