"""Short descriptions of the served types and their fields, in our own words.

They feed the OpenAPI documents, which is what ``kubectl explain`` prints.
Importing this module fills ``schema.DESCRIPTIONS``; ``(type, "")`` describes
the type itself.
"""

from __future__ import annotations

from everynode.api import schema

API_VERSION = ("The versioned schema of this object, as group/version (just the version for the "
                "core group). The server converts known versions and rejects unknown ones.")
KIND = "The type of this object, in CamelCase. Set by clients; the server infers it from the URL it was sent to."
OBJECT_METADATA = "Standard object metadata: name, namespace, labels, annotations, owners and server-set fields."
LIST_METADATA = "Standard list metadata: the resource version of the list and the continue token for paging."

TYPES: dict[str, str] = {
    "V1DaemonSet": (
        "A DaemonSet runs one copy of a pod on every node that matches its node selector and "
        "tolerations: nodes that join get a pod, nodes that leave have theirs removed."),
    "V1DaemonSetSpec": "The desired behaviour of a daemon set.",
    "V1DaemonSetStatus": (
        "The most recently observed state of a daemon set. Read-only; maintained by the daemon set "
        "controller and possibly out of date."),
    "V1DaemonSetCondition": "A condition of a daemon set at one point in time.",
    "V1DaemonSetUpdateStrategy": "How the pods of a daemon set are replaced when its pod template changes.",
    "V1RollingUpdateDaemonSet": "Settings that bound how fast a rolling update of a daemon set proceeds.",
    "V1ControllerRevision": (
        "An immutable snapshot of state kept by a controller, for example a daemon set's pod "
        "template at one revision. Used for rollout history and rollback."),
    "V1ObjectMeta": "Metadata that every persisted object has: identity, labels, annotations and lifecycle fields.",
    "V1ListMeta": "Metadata of a list response.",
    "V1LabelSelector": (
        "A label query over a set of objects. matchLabels and matchExpressions are ANDed; an empty "
        "selector matches everything and a missing one matches nothing."),
    "V1LabelSelectorRequirement": "One requirement of a label selector: a key, an operator and a set of values.",
    "V1OwnerReference": (
        "Identifies an owner of this object. Owned objects are garbage collected once all their "
        "owners are gone."),
    "V1ManagedFieldsEntry": "Records which fields a field manager set, and by which operation.",
    "V1PodTemplateSpec": "Describes the pods that a controller creates from this template.",
    "V1Pod": "A group of containers scheduled together onto one node, sharing network and storage.",
    "V1PodSpec": "The desired state of a pod: its containers, volumes, scheduling constraints and policies.",
    "V1PodStatus": "The most recently observed state of a pod, reported by the node agent.",
    "V1Container": "One application container that runs inside a pod.",
    "V1ContainerPort": "A network port exposed by a container.",
    "V1EnvVar": "An environment variable set in a container.",
    "V1VolumeMount": "Where a pod volume is mounted inside a container.",
    "V1Volume": "A named volume in a pod that containers can mount. Exactly one volume source is set.",
    "V1HostPathVolumeSource": "A file or directory of the host node mapped into the pod.",
    "V1ResourceRequirements": "Compute resources a container asks for (requests) and may not exceed (limits).",
    "V1Probe": "A health check the node agent runs against a container.",
    "V1Toleration": (
        "Lets a pod be scheduled onto (or keep running on) nodes with a matching taint. A toleration "
        "matches a taint when key and effect match and the operator test on the value passes."),
    "V1Taint": "A taint on a node repels pods that do not tolerate it.",
    "V1Node": "A worker machine that runs pods. Each node is registered and kept up to date by its node agent.",
    "V1NodeSpec": "The desired configuration of a node.",
    "V1NodeStatus": "The most recently observed state of a node, reported by its node agent.",
    "V1Namespace": "A scope for names. Most objects live in exactly one namespace.",
    "V1NamespaceSpec": "The desired behaviour of a namespace.",
    "V1NamespaceStatus": "The current state of a namespace.",
    "V1NamespaceCondition": "A condition of a namespace at one point in time.",
    "V1NodeSystemInfo": "Identifiers and versions reported by a node.",
    "V1NodeAddress": "One address of a node.",
    "V1NodeCondition": "A condition of a node at one point in time, such as Ready.",
    "V1PodCondition": "A condition of a pod at one point in time, such as Ready.",
    "V1ContainerStatus": "The observed state of one container of a pod.",
    "V1ContainerState": "The state of a container: exactly one of waiting, running or terminated is set.",
    "V1Affinity": "Scheduling rules based on node labels and on the pods already running.",
    "V1NodeAffinity": "Rules that restrict or prefer the nodes a pod is scheduled on, by node label.",
    "V1NodeSelector": "Node selector terms, any one of which must match (ORed).",
    "V1NodeSelectorTerm": "Node requirements that must all match (ANDed).",
    "V1NodeSelectorRequirement": "One requirement on a node label or field: a key, an operator and values.",
    "V1EnvVarSource": "Where an environment variable's value comes from.",
    "V1EmptyDirVolumeSource": "A temporary directory that shares the pod's lifetime.",
    "V1ConfigMapVolumeSource": "Presents the keys of a config map as files.",
    "V1SecretVolumeSource": "Presents the keys of a secret as files.",
    "V1ExecAction": "Runs a command inside the container.",
    "V1HTTPGetAction": "Sends an HTTP GET request to the container.",
    "V1TCPSocketAction": "Opens a TCP connection to the container.",
    "V1SecurityContext": "Security settings of a container.",
    "V1PodSecurityContext": "Security settings shared by all containers of a pod.",
    "V1Lifecycle": "Actions the node agent runs when a container starts and before it stops.",
    "V1EventSource": "The component that reported an event.",
    "CoreV1EventSeries": "Counts repeated occurrences of an event.",
    "V1Lease": "A lease: a lightweight lock held by one holder, renewed by heartbeats.",
    "V1LeaseSpec": "The holder and timing of a lease.",
    "V1PriorityClass": "Maps a priority class name to an integer priority given to pods that use it.",
    "CoreV1Event": "A report of something that happened to an object, such as a scheduling decision or an error.",
    "V1ObjectReference": "A reference to another object, with enough detail to find it.",
    "V1Binding": "Binds a pod to a node; posted by a scheduler to the pod's binding subresource.",
    "V1Eviction": "A request to evict a pod, subject to disruption budgets; posted to the pod's eviction subresource.",
    "V1DeleteOptions": "Options for a delete request.",
    "V1Status": "The result of an operation that does not return an object, such as a failure or a delete.",
}

FIELDS: dict[str, dict[str, str]] = {
    "V1DaemonSet": {
        "metadata": OBJECT_METADATA,
        "spec": "The desired behaviour of this daemon set.",
        "status": "The current state of this daemon set, as last observed. Read-only.",
    },
    "V1DaemonSetSpec": {
        "selector": (
            "Label query over the pods this daemon set manages. It must match the pod template's "
            "labels and cannot be changed after creation."),
        "template": (
            "The pod created on each eligible node. The daemon set puts exactly one copy on every "
            "node that matches the template's node selector and affinity, and tolerates its taints. "
            "Its restartPolicy must be Always (the default)."),
        "updateStrategy": "How existing daemon pods are replaced by new ones when the template changes.",
        "minReadySeconds": (
            "Seconds a new daemon pod must be ready, with no container crashing, before it counts as "
            "available. Defaults to 0 (available as soon as it is ready)."),
        "revisionHistoryLimit": (
            "How many old revisions (ControllerRevisions) to keep for rollback. Defaults to 10."),
    },
    "V1DaemonSetUpdateStrategy": {
        "type": (
            "The kind of update: \"RollingUpdate\" (the default) replaces daemon pods node by node "
            "within the rollingUpdate bounds; \"OnDelete\" only creates a new pod after the old one "
            "has been deleted by hand."),
        "rollingUpdate": "Bounds of a rolling update. Only used when type is RollingUpdate.",
    },
    "V1RollingUpdateDaemonSet": {
        "maxUnavailable": (
            "How many nodes that should run a daemon pod may be without an available one during the "
            "update: an absolute number or a percentage of the desired nodes (rounded up). Cannot be "
            "0 when maxSurge is 0. Defaults to 1."),
        "maxSurge": (
            "How many nodes may run both an old and a new daemon pod during the update, the old one "
            "being removed once the new one is available: an absolute number or a percentage of the "
            "desired nodes (rounded up). Cannot be 0 when maxUnavailable is 0. Defaults to 0."),
    },
    "V1DaemonSetStatus": {
        "currentNumberScheduled": "Nodes that run at least one daemon pod and are meant to.",
        "desiredNumberScheduled": "Nodes that should run the daemon pod, including those already running it.",
        "numberMisscheduled": "Nodes that run the daemon pod but should not.",
        "numberReady": "Nodes that should run the daemon pod and have at least one ready copy.",
        "numberAvailable": (
            "Nodes that should run the daemon pod and have one that has been ready for at least "
            "minReadySeconds."),
        "numberUnavailable": (
            "Nodes that should run the daemon pod but have no available copy (ready for "
            "minReadySeconds)."),
        "updatedNumberScheduled": "Nodes running a daemon pod created from the current template.",
        "observedGeneration": "The metadata.generation of the daemon set that this status reflects.",
        "collisionCount": (
            "Count of hash collisions between revisions; mixed into the name of the next revision "
            "to avoid a clash."),
        "conditions": "The latest observations of the daemon set's state.",
    },
    "V1DaemonSetCondition": {
        "type": "Type of the condition.",
        "status": "Status of the condition: True, False or Unknown.",
        "reason": "A one-word CamelCase reason for the last transition.",
        "message": "A human-readable message about the last transition.",
        "lastTransitionTime": "When the condition last changed status.",
    },
    "V1ControllerRevision": {
        "metadata": OBJECT_METADATA,
        "data": "The stored state: for a daemon set, a patch holding its pod template.",
        "revision": "The revision number of this state; increases with every new revision.",
    },
    "V1ObjectMeta": {
        "name": (
            "Name of the object, unique within its namespace for a given kind. Required on create "
            "unless generateName is set. Cannot be changed."),
        "generateName": (
            "Prefix the server uses to make a unique name when name is empty: a random suffix is "
            "appended to it."),
        "namespace": (
            "Namespace the object lives in. Empty means \"default\" for namespaced kinds; must be "
            "empty for cluster-scoped ones. Cannot be changed."),
        "uid": "Unique ID the server gives the object on creation; never reused. Read-only.",
        "resourceVersion": (
            "Opaque version of the object, changed on every write. Used for optimistic concurrency "
            "and as the starting point of a watch. Read-only."),
        "generation": "Sequence number of changes to the desired state (spec). Set by the server. Read-only.",
        "creationTimestamp": "When the object was created, in UTC. Set by the server. Read-only.",
        "deletionTimestamp": (
            "When the object will be deleted. Set by the server when a graceful delete is requested; "
            "the object stays until its finalizers are gone. Read-only."),
        "deletionGracePeriodSeconds": "Seconds the object is given to terminate before it is removed. Read-only.",
        "labels": "Key/value pairs used to organise and select objects (by selectors of controllers and services).",
        "annotations": "Key/value pairs for arbitrary non-identifying data, read by tools and controllers.",
        "ownerReferences": (
            "Objects this one depends on. When all owners are deleted, the garbage collector deletes "
            "this object. At most one reference may be the controller."),
        "finalizers": (
            "Names of things that must happen before the object is removed from storage. Deletion "
            "waits until the list is empty."),
        "managedFields": "Which field manager set which fields; maintained by the server.",
        "selfLink": "Deprecated and no longer set.",
    },
    "V1ListMeta": {
        "resourceVersion": "Version of the list, for starting a watch after it.",
        "continue": "Token for fetching the next page when the list was limited. Empty on the last page.",
        "remainingItemCount": "Estimated number of items after this page, when known.",
        "selfLink": "Deprecated and no longer set.",
    },
    "V1LabelSelector": {
        "matchLabels": "Exact key/value pairs; each one is a requirement that the label has that value.",
        "matchExpressions": "Set-based requirements, all of which must hold.",
    },
    "V1LabelSelectorRequirement": {
        "key": "The label key the requirement applies to.",
        "operator": "How the key relates to the values: In, NotIn, Exists or DoesNotExist.",
        "values": "Values for In and NotIn (must not be empty); must be empty for Exists and DoesNotExist.",
    },
    "V1OwnerReference": {
        "apiVersion": "API version of the owner.",
        "kind": "Kind of the owner.",
        "name": "Name of the owner.",
        "uid": "UID of the owner.",
        "controller": "True when the owner is the managing controller of this object.",
        "blockOwnerDeletion": (
            "When true, a foreground deletion of the owner waits until this object is deleted."),
    },
    "V1PodTemplateSpec": {
        "metadata": "Metadata given to each pod created from the template; its labels must match the selector.",
        "spec": "Specification of each pod created from the template.",
    },
    "V1Pod": {
        "metadata": OBJECT_METADATA,
        "spec": "The desired state of the pod.",
        "status": "The most recently observed state of the pod. Read-only.",
    },
    "V1PodSpec": {
        "containers": "The application containers of the pod. At least one is required; cannot be changed.",
        "initContainers": (
            "Containers run one after another, each to completion, before the app containers start. "
            "An init container with restartPolicy Always is a sidecar that keeps running."),
        "volumes": "Volumes that containers of the pod can mount.",
        "nodeName": (
            "The node the pod runs on. Set by the scheduler when it binds the pod; setting it at "
            "creation skips scheduling."),
        "nodeSelector": "Labels a node must have for the pod to be scheduled there.",
        "affinity": "Node affinity, pod affinity and pod anti-affinity scheduling rules.",
        "tolerations": "Taints the pod tolerates.",
        "restartPolicy": "When containers are restarted: Always (default), OnFailure or Never.",
        "terminationGracePeriodSeconds": (
            "Seconds given to the pod's processes to stop after SIGTERM before they are killed. "
            "Defaults to 30."),
        "activeDeadlineSeconds": "Seconds the pod may be active before the node agent fails it.",
        "dnsPolicy": "How DNS is set up for the pod. Defaults to ClusterFirst.",
        "serviceAccountName": "Name of the service account the pod runs as.",
        "serviceAccount": "Deprecated alias of serviceAccountName.",
        "hostNetwork": "Use the node's network namespace instead of a pod network.",
        "hostPID": "Share the node's process ID namespace.",
        "hostIPC": "Share the node's IPC namespace.",
        "priorityClassName": "Name of the PriorityClass that gives the pod its priority.",
        "priority": "Priority of the pod, resolved from priorityClassName by the server.",
        "preemptionPolicy": "Whether the pod may preempt lower priority pods: PreemptLowerPriority or Never.",
        "schedulerName": "The scheduler that places the pod. Defaults to default-scheduler.",
        "securityContext": "Security settings that apply to all containers of the pod.",
        "hostname": "Hostname of the pod. Defaults to the pod name.",
        "imagePullSecrets": "Secrets used to pull the containers' images.",
        "readinessGates": "Extra conditions that must be true before the pod counts as ready.",
    },
    "V1Container": {
        "name": "Name of the container, unique within the pod. Cannot be changed.",
        "image": "Container image to run.",
        "command": "Entrypoint; replaces the image's. Not run in a shell. Cannot be changed.",
        "args": "Arguments to the entrypoint; replace the image's. Cannot be changed.",
        "workingDir": "Working directory of the container's process. Cannot be changed.",
        "env": "Environment variables to set in the container.",
        "envFrom": "Sources (config maps, secrets) whose keys become environment variables.",
        "ports": "Ports the container exposes; mostly informational.",
        "resources": "Compute resources the container requests and is limited to.",
        "volumeMounts": "Pod volumes to mount into the container's filesystem.",
        "livenessProbe": "Check that the container is alive; the container is restarted when it fails.",
        "readinessProbe": "Check that the container is ready for traffic; failures mark the pod not ready.",
        "startupProbe": "Check that the container has started; other probes wait until it succeeds.",
        "lifecycle": "Actions run right after the container starts and right before it stops.",
        "imagePullPolicy": "When to pull the image: Always, Never or IfNotPresent.",
        "securityContext": "Security settings of this container; override the pod's.",
        "restartPolicy": "Only for init containers: Always makes it a sidecar that runs alongside the app containers.",
        "terminationMessagePath": "File whose content is reported as the termination message.",
        "terminationMessagePolicy": "Where the termination message comes from: File or FallbackToLogsOnError.",
        "stdin": "Keep a stdin buffer open for the container.",
        "tty": "Allocate a TTY for the container.",
    },
    "V1ContainerPort": {
        "containerPort": "Port number on the pod's IP address.",
        "name": "Name of the port, unique within the pod.",
        "protocol": "Protocol: TCP (default), UDP or SCTP.",
        "hostPort": "Port number to expose on the host.",
        "hostIP": "Host IP to bind the host port to.",
    },
    "V1EnvVar": {
        "name": "Name of the variable.",
        "value": "Value of the variable; $(VAR) references to earlier variables are expanded.",
        "valueFrom": "Where to take the value from, instead of value.",
    },
    "V1VolumeMount": {
        "name": "Name of the pod volume to mount.",
        "mountPath": "Path inside the container to mount the volume at.",
        "readOnly": "Mount the volume read-only.",
        "subPath": "Path within the volume to mount instead of its root.",
    },
    "V1Volume": {
        "name": "Name of the volume, unique within the pod; referenced by volume mounts.",
        "hostPath": "A file or directory on the node.",
        "emptyDir": "A directory that starts empty and lives as long as the pod.",
        "configMap": "The keys of a config map, as files.",
        "secret": "The keys of a secret, as files.",
    },
    "V1HostPathVolumeSource": {
        "path": "Path on the host. A symlink is followed to its target.",
        "type": "What must exist at the path, and whether it is created; empty means no check.",
    },
    "V1ResourceRequirements": {
        "requests": "Minimum amount of each resource the container needs; used for scheduling.",
        "limits": "Maximum amount of each resource the container may use.",
    },
    "V1Probe": {
        "exec": "Run a command in the container; exit code 0 is success.",
        "httpGet": "Send an HTTP GET request; a 2xx or 3xx status is success.",
        "tcpSocket": "Open a TCP connection; success when it connects.",
        "initialDelaySeconds": "Seconds after the container starts before the first probe.",
        "periodSeconds": "Seconds between probes. Defaults to 10.",
        "timeoutSeconds": "Seconds before a probe times out. Defaults to 1.",
        "successThreshold": "Consecutive successes needed after a failure. Defaults to 1.",
        "failureThreshold": "Consecutive failures before the probe is considered failed. Defaults to 3.",
    },
    "V1Toleration": {
        "key": (
            "Taint key the toleration applies to. Empty matches every key; the operator must then "
            "be Exists."),
        "operator": (
            "How the taint value is compared: Equal (the default) requires the values to be equal; "
            "Exists matches any value."),
        "value": "Taint value to match. Must be empty when the operator is Exists.",
        "effect": (
            "Taint effect to match: NoSchedule, PreferNoSchedule or NoExecute. Empty matches every "
            "effect."),
        "tolerationSeconds": (
            "Only for NoExecute: how long the pod may stay on the node once the taint is added. "
            "Unset means forever; zero or less means it is evicted at once."),
    },
    "V1Taint": {
        "key": "Key of the taint.",
        "value": "Value of the taint.",
        "effect": "What the taint does to pods that do not tolerate it: NoSchedule, PreferNoSchedule or NoExecute.",
        "timeAdded": "When a NoExecute taint was added.",
    },
    "V1Node": {
        "metadata": OBJECT_METADATA,
        "spec": "The desired configuration of the node.",
        "status": "The most recently observed state of the node. Read-only.",
    },
    "V1NodeSpec": {
        "unschedulable": "When true, no new pods are scheduled onto the node (cordoned).",
        "taints": "Taints that repel pods not tolerating them.",
        "podCIDR": "IP range assigned to pods on this node.",
        "podCIDRs": "IP ranges assigned to pods on this node.",
        "providerID": "ID of the node given by the infrastructure provider.",
    },
    "V1NodeStatus": {
        "conditions": "Observed conditions of the node, such as Ready.",
        "addresses": "Addresses of the node (InternalIP, ExternalIP, Hostname).",
        "capacity": "Total resources of the node.",
        "allocatable": "Resources of the node available to pods.",
        "nodeInfo": "Versions and identifiers reported by the node.",
        "daemonEndpoints": "Ports of daemons running on the node, such as the node agent.",
        "images": "Container images present on the node.",
        "phase": "Deprecated and no longer set.",
    },
    "V1Namespace": {
        "metadata": OBJECT_METADATA,
        "spec": "The desired behaviour of the namespace.",
        "status": "The current state of the namespace. Read-only.",
    },
    "V1NamespaceSpec": {"finalizers": "Things that must happen before the namespace is removed."},
    "V1NamespaceStatus": {
        "phase": "Lifecycle phase of the namespace: Active or Terminating.",
        "conditions": "Observed conditions of the namespace.",
    },
    "V1Lease": {"metadata": OBJECT_METADATA, "spec": "The holder and timing of the lease."},
    "V1LeaseSpec": {
        "holderIdentity": "Identity of the current holder.",
        "leaseDurationSeconds": "Seconds a candidate waits after the last renewal before taking over.",
        "acquireTime": "When the current holder acquired the lease.",
        "renewTime": "When the current holder last renewed the lease.",
        "leaseTransitions": "How many times the lease changed holder.",
    },
    "V1PriorityClass": {
        "metadata": OBJECT_METADATA,
        "value": "Priority given to pods of this class; higher is more important.",
        "globalDefault": "Give this class to pods that name none. At most one class may set it.",
        "description": "Free text about when to use this class.",
        "preemptionPolicy": "Whether pods of this class may preempt lower priority pods: PreemptLowerPriority (default) or Never.",
    },
    "CoreV1Event": {
        "metadata": OBJECT_METADATA,
        "involvedObject": "The object the event is about.",
        "reason": "Short CamelCase reason for the event, meant for machines.",
        "message": "Human-readable description of the event.",
        "type": "Normal or Warning.",
        "count": "How many times the event has occurred.",
        "firstTimestamp": "When the event was first recorded.",
        "lastTimestamp": "When the event was last recorded.",
        "source": "The component (and host) that reported the event.",
        "eventTime": "When the event was first observed, with microsecond precision.",
        "reportingComponent": "Name of the controller that emitted the event.",
        "reportingInstance": "ID of the controller instance that emitted the event.",
    },
    "V1ObjectReference": {
        "kind": "Kind of the referent.",
        "name": "Name of the referent.",
        "namespace": "Namespace of the referent.",
        "uid": "UID of the referent.",
        "apiVersion": "API version of the referent.",
        "fieldPath": "Part of the referent, for example spec.containers{name}.",
    },
}


def register() -> None:
    """Fill schema.DESCRIPTIONS (idempotent)."""
    for type_name, text in TYPES.items():
        schema.DESCRIPTIONS.setdefault((type_name, ""), text)
    for type_name, fields in FIELDS.items():
        for field, text in fields.items():
            schema.DESCRIPTIONS.setdefault((type_name, field), text)
    for type_name in schema.types():
        names = schema.fields(type_name)
        if "apiVersion" in names and "kind" in names:
            schema.DESCRIPTIONS.setdefault((type_name, "apiVersion"), API_VERSION)
            schema.DESCRIPTIONS.setdefault((type_name, "kind"), KIND)
        if names.get("metadata") == "V1ListMeta":
            schema.DESCRIPTIONS.setdefault((type_name, "metadata"), LIST_METADATA)
        elif names.get("metadata") == "V1ObjectMeta":
            schema.DESCRIPTIONS.setdefault((type_name, "metadata"), OBJECT_METADATA)


register()
