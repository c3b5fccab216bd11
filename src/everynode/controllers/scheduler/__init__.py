"""The default scheduler: binds pending pods to nodes, as kube-scheduler does.

- ``filters``: pod and node bookkeeping (requests, host ports, per-node
  aggregates), the Filter plugins of the default profile, scoring and the
  "0/N nodes are available" diagnosis. Pure.
- ``preemption``: priority resolution and the DefaultPreemption PostFilter
  (victim selection, candidate node choice, its messages). Pure.
- ``scheduler``: the IO loop: informers, the scheduling queue with backoff,
  the incrementally maintained cache, binding, status and events.
"""
