"""Built-in image: a log shipper standing in for fluentd / fluent-bit / filebeat (everynode image catalog).

Follows every ``*.log`` file under the given directories (the node's
/var/log/containers and /var/log/pods when the pod mounts the node's
/var/log) and prints each new line, tagged with its file, to stdout: what a
log collector DaemonSet would forward. Checks for new lines every 2 s.
Standalone: no everynode imports.
"""

import glob
import os
import signal
import sys
import time


def main() -> None:
    dirs = sys.argv[1:] or ["/var/log/containers"]
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(0))
    print(f"log shipper (everynode built-in image) following *.log under {', '.join(dirs)}", flush=True)
    offsets: dict[str, int] = {}
    first = True
    while True:
        files = set()
        for d in dirs:
            files.update(p for p in glob.glob(os.path.join(d, "**", "*.log"), recursive=True))
        for path in sorted(files):
            real = os.path.realpath(path)
            try:
                size = os.path.getsize(real)
            except OSError:
                continue
            if real not in offsets:
                offsets[real] = size if first else 0
                print(f"following {path}", flush=True)
            if size < offsets[real]:
                offsets[real] = 0
            if size > offsets[real]:
                with open(real, "rb") as f:
                    f.seek(offsets[real])
                    data = f.read(size - offsets[real])
                offsets[real] = size
                tag = os.path.basename(path)
                for line in data.decode(errors="replace").splitlines():
                    print(f"[{tag}] {line}", flush=True)
        first = False
        time.sleep(2)


if __name__ == "__main__":
    main()
