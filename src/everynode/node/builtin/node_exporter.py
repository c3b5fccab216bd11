"""Built-in image: a small Prometheus node exporter (everynode image catalog).

Serves /metrics on the pod's address (default port 9100) with the host's
CPU, memory, load and uptime figures read from /proc, in the Prometheus
text format. Standalone: no everynode imports.
"""

import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def metrics() -> str:
    out = []
    ticks = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0].startswith("cpu") and parts[0] != "cpu":
                cpu = parts[0][3:]
                for mode, v in zip(("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"),
                                   parts[1:9], strict=False):
                    out.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="{mode}"}} {int(v) / ticks}')
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached"):
                out.append(f"node_memory_{k}_bytes {int(v.split()[0]) * 1024}")
    load = open("/proc/loadavg").read().split()
    out += [f"node_load1 {load[0]}", f"node_load5 {load[1]}", f"node_load15 {load[2]}"]
    out.append(f"node_time_seconds {time.time()}")
    out.append(f"node_boot_time_seconds {time.time() - float(open('/proc/uptime').read().split()[0])}")
    return "\n".join(out) + "\n"


def main() -> None:
    port = 9100
    for a in sys.argv[1:]:
        if a.startswith("--web.listen-address="):
            port = int(a.rsplit(":", 1)[-1])
    try:
        addr = socket.gethostbyname(socket.gethostname())
        addr = addr if addr.startswith("127.") else "0.0.0.0"
    except OSError:
        addr = "0.0.0.0"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = (metrics() if self.path.startswith("/metrics") else
                    "<html><body><h1>Node Exporter</h1><a href='/metrics'>Metrics</a></body></html>\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a) -> None:
            pass

    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(0))
    ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    print(f'ts={ts} caller=node_exporter.go:193 level=info msg="Starting node_exporter" '
          f'version="(everynode built-in image)"', flush=True)
    print(f"ts={ts} caller=tls_config.go:313 level=info msg=\"Listening on\" address={addr}:{port}", flush=True)
    ThreadingHTTPServer((addr, port), Handler).serve_forever(poll_interval=3600)


if __name__ == "__main__":
    main()
