"""`longform serve`: long documents for any OpenAI-compatible client, and a page to watch them written.

    longform serve --backend embedded                        # http://127.0.0.1:8080/
    longform serve --backend openai --base-url http://gpu:8000/v1 --model M --workers 8 --server-key-env LONGFORM_KEY
    python -c 'import openai; c = openai.OpenAI(base_url="http://127.0.0.1:8080/v1", api_key="x");
               print(c.chat.completions.create(model="longform", messages=[{"role": "user",
               "content": "Write a 3000-word story"}]).choices[0].message.content)'
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from ..errors import UsageError
from ..io import read_user_text
from .bounds import CONCURRENCY, PORT, WORDS, out_dir, whole
from .common import add_backend_options, add_layout_options, backend_from_args, write_settings_from_args


def register(commands) -> None:
    p = commands.add_parser("serve", help="an OpenAI-compatible server that writes long documents, and a web page",
                            description="POST /v1/chat/completions with model 'longform' gets an AgentWrite document.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    p.add_argument("--port", type=PORT, default=8080, help="port to bind (0: any free one)")
    p.add_argument("--server-key-env", dest="serve_key_env", metavar="VAR",
                   help="require the key in this environment variable as a Bearer token")
    p.add_argument("--api-keys-file", type=Path, metavar="FILE",
                   help="several keys, one 'NAME KEY' per line ('#' starts a comment); each key sees only its "
                        "own jobs")
    p.add_argument("--allowed-hosts", default="", metavar="NAMES",
                   help="without a key, Host names served besides the bound address, comma-separated ('*': any)")
    p.add_argument("--workers", type=CONCURRENCY, default=2,
                   help="documents written at once; the rest wait in a queue. With the embedded backend they are "
                        "decoded together on one model (default 2)")
    p.add_argument("--max-queue", type=whole(1, 1_000_000), default=256,
                   help="waiting jobs beyond which requests get 429")
    p.add_argument("--jobs-dir", type=out_dir, default="runs/serve", help="where jobs are kept (run directories)")
    p.add_argument("--default-words", type=WORDS, default=2000, help="target when a request states none")
    p.add_argument("--max-body", type=whole(1_000, 2**31), default=1_000_000, help="largest request body in bytes")
    add_layout_options(p)
    # --api-key-env is the backend's key here too, as in `write`: a copied command cannot lock the server
    add_backend_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..serve.app import ServeSettings, create_app
    from ..serve.http import serve
    from ..serve.jobs import JobManager

    key = None
    if args.serve_key_env:
        key = os.environ.get(args.serve_key_env)
        if not key:
            raise UsageError(f"--server-key-env {args.serve_key_env}: that environment variable is empty or unset")
    keys = read_keys(args.api_keys_file) if args.api_keys_file else None
    sock = bind(args.host, args.port)  # before the model loads: a taken port fails at once
    if args.host not in ("127.0.0.1", "localhost", "::1") and key is None and keys is None:
        print(f"warning: serving on {args.host} without an API key: anyone who can reach it can use it",
              file=sys.stderr)
    if args.concurrency is None:  # the embedded model decodes --workers documents together (continuous batching)
        args.concurrency = args.workers
    manager = JobManager(args.jobs_dir, backend_from_args(args), write_settings_from_args(args),
                         concurrency=args.workers)
    settings = ServeSettings(api_key=key, api_keys=keys, default_words=args.default_words, max_body=args.max_body,
                             max_queue=args.max_queue, host=args.host,
                             allowed_hosts=tuple(h.strip() for h in args.allowed_hosts.split(",") if h.strip()))
    if manager.recovered:
        print(f"resuming {manager.recovered} unfinished jobs from {args.jobs_dir}", file=sys.stderr)
    print(f"longform serving on http://{args.host}:{args.port}/ (jobs in {args.jobs_dir})", file=sys.stderr)
    try:
        serve(create_app(manager, settings), sock)
    finally:
        manager.shutdown()
        sock.close()
    return 0


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or a one-line UsageError for a bad address or a port in use."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: must be from 0 to 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"--host {host!r}: not an address this machine can bind ({exc})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise UsageError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from None
    return sock


def read_keys(path: Path) -> dict[str, str]:
    """NAME → KEY from a keys file, or a UsageError naming the line that is wrong."""
    lines = read_user_text(path, "--api-keys-file").splitlines()
    keys: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] in keys or parts[1] in keys.values():
            raise UsageError(f"{path}:{number}: expected 'NAME KEY' with a new name and key")
        keys[parts[0]] = parts[1]
    if not keys:
        raise UsageError(f"--api-keys-file {path}: no keys in it")
    return keys
