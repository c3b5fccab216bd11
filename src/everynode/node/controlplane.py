"""The control plane as pods: the embedded controllers' log behind a static pod.

``everynode up`` runs the controllers inside its own process. So that
``kubectl logs -n kube-system -l component=kube-controller-manager`` works
as on a kubeadm cluster, the cluster writes the controllers' log lines
(klog-style) to ``<data-dir>/logs/kube-controller-manager.log`` and puts a
static pod manifest on the control-plane node whose container follows that
file. The log file starts empty at every start, as a new process's would.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import yaml

CONTROLLER_LOGGERS = ("everynode.controller", "everynode.daemonset", "everynode.nodelifecycle", "everynode.podgc",
                      "everynode.gc", "everynode.scheduler", "everynode.leader", "everynode.informer")
MANIFEST = "kube-controller-manager.yaml"


class KlogFormatter(logging.Formatter):
    """I1102 15:04:05.123456    4242 daemonset] message"""

    def format(self, record: logging.LogRecord) -> str:
        level = {"DEBUG": "I", "INFO": "I", "WARNING": "W", "ERROR": "E", "CRITICAL": "F"}.get(record.levelname, "I")
        t = time.gmtime(record.created)
        micros = int((record.created % 1) * 1e6)
        source = record.name.removeprefix("everynode.")
        text = (f"{level}{time.strftime('%m%d %H:%M:%S', t)}.{micros:06d} {record.process:>7} {source}] "
                f"{record.getMessage()}")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class ControllerFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith(CONTROLLER_LOGGERS)


def install_controller_log(data_dir: Path) -> logging.Handler:
    path = data_dir / "logs" / "kube-controller-manager.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(KlogFormatter())
    handler.addFilter(ControllerFilter())
    handler.setLevel(logging.INFO)
    root = logging.getLogger("everynode")
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def remove_controller_log(handler: logging.Handler) -> None:
    logging.getLogger("everynode").removeHandler(handler)
    handler.close()


def controller_manager_manifest(log_file: Path) -> dict:
    follow = ["tail", "-n", "+1", "-F", str(log_file)]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kube-controller-manager", "namespace": "kube-system",
                     "labels": {"component": "kube-controller-manager", "tier": "control-plane"},
                     # The controllers run in the cluster process; this pod shows their log, on any runtime.
                     "annotations": {"everynode.io/runtime": "process"}},
        "spec": {"hostNetwork": True, "priorityClassName": "system-node-critical", "priority": 2000001000,
                 "containers": [{"name": "kube-controller-manager",
                                 "image": "registry.k8s.io/kube-controller-manager:v1.37.0",
                                 "command": follow,
                                 "resources": {"requests": {"cpu": "200m"}}}]},
    }


def write_controller_manager_manifest(manifest_dir: Path, log_file: Path) -> Path:
    manifest_dir.mkdir(parents=True, exist_ok=True)
    path = manifest_dir / MANIFEST
    text = yaml.safe_dump(controller_manager_manifest(log_file), sort_keys=False)
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path
