"""Built-in image: a small web server standing in for nginx / httpd (everynode image catalog).

Serves a welcome page on the pod's address (its hostname's address, from the
pod's /etc/hosts) and writes access log lines to stdout as nginx does.
SIGTERM and SIGQUIT stop it cleanly (exit 0). Standalone: no everynode imports.
"""

import argparse
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGES = {
    "nginx": ("nginx/1.27.0", "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n"
                              "<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is successfully "
                              "installed and working (everynode built-in image).</p>\n</body>\n</html>\n"),
    "httpd": ("Apache/2.4.62 (Unix)", "<html><body><h1>It works!</h1></body></html>\n"),
}


def bind_address() -> str:
    try:
        addr = socket.gethostbyname(socket.gethostname())
        if addr.startswith("127."):
            return addr
    except OSError:
        pass
    return "0.0.0.0"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="nginx", choices=sorted(PAGES))
    ap.add_argument("--port", type=int, default=80)
    args = ap.parse_args()
    banner, page = PAGES[args.server]
    body = page.encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = banner
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            status = 200 if self.path.split("?")[0] in ("/", "/index.html") else 404
            data = body if status == 200 else b"<html><body><h1>404 Not Found</h1></body></html>\n"
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            ts = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
            agent = self.headers.get("User-Agent", "-")
            print(f'{self.client_address[0]} - - [{ts}] "{self.requestline}" {status} {len(data)} "-" "{agent}"',
                  flush=True)

        do_HEAD = do_GET

        def log_message(self, *a) -> None:
            pass

    addr = bind_address()
    server = ThreadingHTTPServer((addr, args.port), Handler)
    now = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime())
    if args.server == "nginx":
        print("/docker-entrypoint.sh: Configuration complete; ready for start up", flush=True)
        print(f"{now} [notice] 1#1: {banner}", file=sys.stderr, flush=True)
        print(f"{now} [notice] 1#1: start worker processes (listening on {addr}:{args.port})", file=sys.stderr,
              flush=True)
    else:
        print(f"[core:notice] {banner} configured -- resuming normal operations ({addr}:{args.port})",
              file=sys.stderr, flush=True)

    def stop(*_a) -> None:
        print(f"{time.strftime('%Y/%m/%d %H:%M:%S', time.gmtime())} [notice] 1#1: signal received, exiting",
              file=sys.stderr, flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGQUIT, stop)
    server.serve_forever(poll_interval=3600)


if __name__ == "__main__":
    main()
