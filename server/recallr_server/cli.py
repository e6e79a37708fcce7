"""`recallr-server`: serve (default), migrate, and admin commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import replace

from recallr_server import __version__, app, logs, metrics, supervisor, transport
from recallr_server.config import Settings
from recallr_server.store import migrate, projects
from recallr_server.store.database import Database, Tx

log = logging.getLogger("recallr.worker")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recallr-server", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--database-url", help="overrides RECALLR_DATABASE_URL")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the gRPC server (the default)")
    serve.add_argument("--listen", help="host:port; overrides RECALLR_LISTEN")
    worker = commands.add_parser("worker", help="run only the job worker (session processing)")
    worker.add_argument(
        "--concurrency", type=int, default=1, help="jobs run at once by this process"
    )
    migrate_cmd = commands.add_parser("migrate", help="upgrade the database schema")
    migrate_cmd.add_argument(
        "--check", action="store_true", help="fail when models and migrations disagree"
    )
    admin = commands.add_parser("admin", help="manage projects and API keys")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_commands.add_parser("create-project", help="create a project and its first key")
    create.add_argument("--name", default="")
    create.add_argument("--project-id", help="defaults to a new UUID")
    key = admin_commands.add_parser("create-key", help="add an API key to a project")
    key.add_argument("project_id")
    key.add_argument("--description", default="")
    admin_commands.add_parser("list-projects", help="list projects and their active keys")
    revoke = admin_commands.add_parser("revoke-key", help="revoke keys by their shown prefix")
    revoke.add_argument("project_id")
    revoke.add_argument("prefix", help="the first 12 characters of the key, as listed")
    return parser


async def _bootstrap(settings: Settings) -> None:
    """Makes sure some project can be used, as the configuration asks."""
    if bool(settings.project_id) != bool(settings.api_key):
        raise SystemExit("set both RECALLR_PROJECT_ID and RECALLR_API_KEY, or neither")
    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            if settings.project_id and settings.api_key:
                await projects.ensure_project_with_key(
                    session, settings.project_id, settings.api_key
                )
            elif not await projects.has_projects(session):
                project = await projects.create_project(session)
                key = await projects.add_api_key(session, project.id, description="first key")
                # Shown once, on stdout rather than in the logs; only its digest is stored.
                print(f"Created project {project.id}\nAPI key (shown once): {key}", flush=True)
    finally:
        await db.dispose()


def _prepare(settings: Settings) -> None:
    """Migrates and bootstraps under the database's startup lock: replicas starting together
    on a fresh database take turns rather than race to create the same rows."""
    with migrate.exclusive(settings.database_url):
        migrate.upgrade(settings.database_url)
        asyncio.run(_bootstrap(settings))


async def _serve(settings: Settings) -> None:
    transport.raise_open_file_limit()
    if settings.process_index is None:
        # A process `serve` started finds the database prepared by it.
        await asyncio.to_thread(_prepare, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await app.serve_until_signalled(settings, stop)


async def _work(settings: Settings, concurrency: int) -> None:
    # Handled from the start: a stop asked for while models load is a clean stop too.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    db = Database(settings.database_url)
    engine_models = await asyncio.to_thread(app.load_models)
    worker = app.build_worker(db, replace(settings, workers=concurrency), engine_models)
    metrics_server = metrics.serve(settings.metrics_listen) if settings.metrics_listen else None
    if metrics_server is not None:
        log.info("metrics on port %d", metrics_server.port)
    worker.start()
    await stop.wait()
    # Claimed jobs are handed back at once rather than waiting for their leases.
    await worker.stop()
    await db.dispose()
    if metrics_server is not None:
        metrics_server.stop()


async def _admin(settings: Settings, args: argparse.Namespace) -> None:
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            if args.admin_command == "create-project":
                project = await projects.create_project(
                    session, project_id=args.project_id, name=args.name
                )
                key = await projects.add_api_key(session, project.id, description="first key")
                print(f"project_id: {project.id}\napi_key (shown once): {key}")
            elif args.admin_command == "create-key":
                if not any(
                    p.project_id == args.project_id for p in await projects.list_projects(session)
                ):
                    raise SystemExit(f"no project {args.project_id!r}")
                key = await projects.add_api_key(
                    session, args.project_id, description=args.description
                )
                print(f"api_key (shown once): {key}")
            elif args.admin_command == "list-projects":
                for p in await projects.list_projects(session):
                    print(f"{p.project_id}\t{p.name}\t{p.active_keys} active key(s)")
                    for prefix in p.key_prefixes:
                        print(f"\tkey {prefix or '(shorter than a prefix: not shown)'}")
            elif args.admin_command == "revoke-key":
                await _revoke(session, args.project_id, args.prefix)
    finally:
        await db.dispose()


async def _revoke(session: Tx, project_id: str, prefix: str) -> None:
    # An empty prefix would match, and revoke, every key of the project.
    if not prefix:
        raise SystemExit("give the key's prefix as list-projects shows it")
    count = await projects.revoke_keys_with_prefix(session, project_id, prefix)
    if count == 0:
        raise SystemExit(f"no active key of project {project_id!r} starts with {prefix!r}")
    print(f"revoked {count} key(s)")


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    if args.database_url:
        settings = replace(settings, database_url=args.database_url)
    if getattr(args, "listen", None):
        settings = replace(settings, listen=args.listen)
    logs.configure(settings.log_level)
    command = args.command or "serve"
    if command == "serve":
        if settings.process_index is None and supervisor.process_count(settings) > 1:
            transport.raise_open_file_limit()
            raise SystemExit(supervisor.supervise(settings, _prepare))
        asyncio.run(_serve(settings))
    elif command == "worker":
        asyncio.run(_work(settings, args.concurrency))
    elif command == "migrate":
        if args.check:
            migrate.check(settings.database_url)
        else:
            migrate.upgrade(settings.database_url)
    else:
        asyncio.run(_admin(settings, args))


if __name__ == "__main__":
    main()
