"""`assistant serve` (the chat UI), `api` (the HTTP API) and `keys` (its API keys)."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Any

from assistant.cli.shared import BACKEND_KEYS, format_report, make_assistant
from assistant.core.settings import Settings
from assistant.serve.api_access import Gate
from assistant.serve.keys import KeyStore


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, news: argparse.ArgumentParser) -> None:
    """Add this group's sub-commands to `sub`."""
    p = sub.add_parser("serve", parents=[common], help="open the Gradio chat UI",
                       description="Start the chat UI on 127.0.0.1. With --seed DIR, an empty index is filled from DIR first.")
    p.add_argument("--host", default=os.environ.get("ASSISTANT_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("ASSISTANT_PORT", "7860")))
    p.add_argument("--seed", metavar="DIR", help="ingest DIR first when the index is empty (e.g. seeds/)")

    p = sub.add_parser("api", parents=[common], help="serve the OpenAI-compatible HTTP API",
                       description="Serve /v1/chat/completions (any OpenAI client), /v1/answers, /v1/documents, "
                                   "/v1/jobs, /healthz and /metrics with FastAPI on uvicorn; docs at /docs. Binds "
                                   "127.0.0.1 unless told otherwise. With no key file it runs open on a loopback "
                                   "address only; `assistant keys create` turns keys on.")
    p.add_argument("--host", help="address to bind (default 127.0.0.1, or $ASSISTANT_API_HOST)")
    p.add_argument("--port", type=int, help="port (default 8000, or $ASSISTANT_API_PORT)")
    p.add_argument("--workers", type=int, help="worker processes (default 1, or $ASSISTANT_API_WORKERS)")

    p = sub.add_parser("keys", help="create, list or revoke API keys for `assistant api`",
                       description="API keys are stored hashed in api_keys.json beside the index (or "
                                   "$ASSISTANT_API_KEYS_FILE); a running API sees changes within a second.")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    keyfile = argparse.ArgumentParser(add_help=False)
    keyfile.add_argument("--index", metavar="DIR", help="index directory whose key file to use (default ./index)")
    keyfile.add_argument("--keys-file", dest="api_keys_file", metavar="FILE", help="the key file itself")
    keyfile.add_argument("--json", action="store_true", help="print JSON")
    k = ksub.add_parser("create", parents=[keyfile], help="make a key and print it once")
    k.add_argument("name", help="who or what the key is for")
    k.add_argument("--scopes", default="read", help="read (default), write, or read,write")
    k.add_argument("--rate", type=int, metavar="N", help="requests per minute (default $ASSISTANT_API_RATE_PER_MIN)")
    ksub.add_parser("list", parents=[keyfile], help="list keys (never the keys themselves)")
    k = ksub.add_parser("revoke", parents=[keyfile], help="revoke a key by its id")
    k.add_argument("key_id", metavar="ID")


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.serve.ui import launch  # Gradio loads only for this command

    bot = make_assistant(args)
    if args.seed and not bot.documents():
        print(format_report(bot.ingest([args.seed])), file=sys.stderr)
    launch(bot, host=args.host, port=args.port)
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    keys = BACKEND_KEYS
    overrides = {k: getattr(args, k, None) for k in keys}
    overrides.update(index=args.index, api_host=args.host, api_port=args.port, api_workers=args.workers)
    settings = Settings.load(**overrides)
    host, port, workers = settings.api_host, settings.api_port, settings.api_workers
    # X-Forwarded-For only from ASSISTANT_TRUSTED_PROXIES: it picks the rate-limit bucket.
    proxies = {"proxy_headers": bool(settings.forwarded_allow_ips), "forwarded_allow_ips": settings.forwarded_allow_ips}
    import uvicorn

    if workers == 1:
        from assistant.serve.api import create_app  # FastAPI loads only for this command

        app = create_app(settings, host=host)
        print(f"assistant api on http://{host}:{port} (OpenAPI docs at /docs)", file=sys.stderr)
        uvicorn.run(app, host=host, port=port, log_level="warning", **proxies)
        return 0
    print(f"assistant api on http://{host}:{port} with {workers} workers: {Gate(settings, host).describe()}",
          file=sys.stderr)
    for name, value in overrides.items():  # every worker builds the same settings from the environment
        if value is not None:
            os.environ[f"ASSISTANT_{name.upper()}"] = str(value)
    _metrics_dir(settings.index_path / "api-metrics")
    uvicorn.run("assistant.serve.api:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", **proxies)
    return 0


def _metrics_dir(folder: Any) -> None:
    """A fresh directory for the workers' shared Prometheus values (multiprocess mode)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def cmd_keys(args: argparse.Namespace) -> int:
    store = KeyStore(Settings.load(index=args.index, api_keys_file=args.api_keys_file).api_keys_path)
    if args.keys_command == "create":
        scopes = tuple(s.strip() for s in args.scopes.split(",") if s.strip())
        key, token = store.create(args.name, scopes, args.rate)
        if args.json:
            print(json.dumps({**key.public(), "key": token}, indent=2))
        else:
            print(f"created {key.id} ({key.name}, scopes {','.join(key.scopes)}); the key, shown only now:\n{token}")
    elif args.keys_command == "revoke":
        key = store.revoke(args.key_id)
        print(json.dumps(key.public(), indent=2) if args.json else f"revoked {key.id} ({key.name})")
    else:
        rows = [k.public() for k in store.keys()]
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("no API keys: the API runs open on 127.0.0.1; `assistant keys create NAME` makes one")
        for r in rows if not args.json else []:
            state = f"revoked {r['revoked']}" if r["revoked"] else "active"
            print(f"{r['id']}\t{r['name']}\t{','.join(r['scopes'])}\t{r['rate_per_min'] or 'default'}/min\t"
                  f"{r['created']}\t{state}")
    return 0


COMMANDS = {"serve": cmd_serve, "api": cmd_api, "keys": cmd_keys}
