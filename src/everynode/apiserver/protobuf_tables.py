"""Field tables for the protobuf decoder: message -> field number -> JSON name.

Field numbers come from upstream's generated.proto files (k8s.io/api core/v1
as of 1.36, apimachinery meta/v1, policy/v1, scheduling/v1,
authorization/v1, authentication/v1); JSON names are the proto field names,
which go-to-protobuf takes from the json tags.

One message per line (continuation lines start with spaces):
``Message: name number [type], ...``. A type is ``string`` (the default),
``int``, ``bool``, ``bytes``, ``time``, ``quantity``, ``fieldsv1``,
``intorstring``, ``strlist`` (a message holding one repeated string), or a
message name; ``[]T`` is a repeated field, ``map:T`` a map with string keys,
and a leading ``*`` keeps zero values (Go pointers and fields without
omitempty, whose zero value Go's JSON encoder writes out). A field named
``-`` is an embedded struct whose fields JSON inlines into the parent.
"""

from __future__ import annotations

from dataclasses import dataclass

META = """
ObjectMeta: name 1, generateName 2, namespace 3, selfLink 4, uid 5, resourceVersion 6, generation 7 int,
    creationTimestamp 8 time, deletionTimestamp 9 time, deletionGracePeriodSeconds 10 *int,
    labels 11 map:string, annotations 12 map:string, ownerReferences 13 []OwnerReference,
    finalizers 14 []string, managedFields 17 []ManagedFieldsEntry
OwnerReference: apiVersion 5, kind 1, name 3, uid 4, controller 6 *bool, blockOwnerDeletion 7 *bool
ManagedFieldsEntry: manager 1, operation 2, apiVersion 3, time 4 time, fieldsType 6, fieldsV1 7 fieldsv1,
    subresource 8
DeleteOptions: gracePeriodSeconds 1 *int, preconditions 2 Preconditions, orphanDependents 3 *bool,
    propagationPolicy 4 *string, dryRun 5 []string, ignoreStoreReadErrorWithClusterBreakingPotential 6 *bool
Preconditions: uid 1 *string, resourceVersion 2 *string
LabelSelector: matchLabels 1 map:string, matchExpressions 2 []LabelSelectorRequirement
LabelSelectorRequirement: key 1, operator 2, values 3 []string
FieldSelectorRequirement: key 1, operator 2, values 3 []string
"""

CORE = """
Namespace: metadata 1 ObjectMeta, spec 2 NamespaceSpec, status 3 NamespaceStatus
NamespaceSpec: finalizers 1 []string
NamespaceStatus: phase 1, conditions 2 []NamespaceCondition
NamespaceCondition: type 1, status 2, lastTransitionTime 4 time, reason 5, message 6
Binding: metadata 1 ObjectMeta, target 2 ObjectReference
ObjectReference: kind 1, namespace 2, name 3, uid 4, apiVersion 5, resourceVersion 6, fieldPath 7
AWSElasticBlockStoreVolumeSource: volumeID 1, fsType 2, partition 3 int, readOnly 4 bool
Affinity: nodeAffinity 1 NodeAffinity, podAffinity 2 PodAffinity, podAntiAffinity 3 PodAntiAffinity
AppArmorProfile: type 1 *string, localhostProfile 2 *string
AzureDiskVolumeSource: diskName 1, diskURI 2, cachingMode 3 *string, fsType 4 *string, readOnly 5 *bool,
    kind 6 *string
AzureFileVolumeSource: secretName 1, shareName 2, readOnly 3 bool
CSIVolumeSource: driver 1, readOnly 2 *bool, fsType 3 *string, volumeAttributes 4 map:string,
    nodePublishSecretRef 5 LocalObjectReference
Capabilities: add 1 []string, drop 2 []string
CephFSVolumeSource: monitors 1 []string, path 2, user 3, secretFile 4, secretRef 5 LocalObjectReference,
    readOnly 6 bool
CinderVolumeSource: volumeID 1, fsType 2, readOnly 3 bool, secretRef 4 LocalObjectReference
ClusterTrustBundleProjection: name 1 *string, signerName 2 *string, labelSelector 3 LabelSelector,
    optional 5 *bool, path 4
ConfigMapEnvSource: - 1 LocalObjectReference, optional 2 *bool
ConfigMapKeySelector: - 1 LocalObjectReference, key 2, optional 3 *bool
ConfigMapProjection: - 1 LocalObjectReference, items 2 []KeyToPath, optional 4 *bool
ConfigMapVolumeSource: - 1 LocalObjectReference, items 2 []KeyToPath, defaultMode 3 *int,
    optional 4 *bool
Container: name 1, image 2, command 3 []string, args 4 []string, workingDir 5, ports 6 []ContainerPort,
    envFrom 19 []EnvFromSource, env 7 []EnvVar, resources 8 ResourceRequirements,
    resizePolicy 23 []ContainerResizePolicy, restartPolicy 24 *string,
    restartPolicyRules 25 []ContainerRestartRule, volumeMounts 9 []VolumeMount,
    volumeDevices 21 []VolumeDevice, livenessProbe 10 Probe, readinessProbe 11 Probe,
    startupProbe 22 Probe, lifecycle 12 Lifecycle, terminationMessagePath 13,
    terminationMessagePolicy 20, imagePullPolicy 14, securityContext 15 SecurityContext, stdin 16 bool,
    stdinOnce 17 bool, tty 18 bool
ContainerExtendedResourceRequest: containerName 1, resourceName 2, requestName 3
ContainerPort: name 1, hostPort 2 int, containerPort 3 *int, protocol 4, hostIP 5
ContainerResizePolicy: resourceName 1, restartPolicy 2
ContainerRestartRule: action 1, exitCodes 2 ContainerRestartRuleOnExitCodes
ContainerRestartRuleOnExitCodes: operator 1, values 2 []int
ContainerState: waiting 1 ContainerStateWaiting, running 2 ContainerStateRunning,
    terminated 3 ContainerStateTerminated
ContainerStateRunning: startedAt 1 time
ContainerStateTerminated: exitCode 1 *int, signal 2 int, reason 3, message 4, startedAt 5 time,
    finishedAt 6 time, containerID 7
ContainerStateWaiting: reason 1, message 2
ContainerStatus: name 1, state 2 ContainerState, lastState 3 ContainerState, ready 4 *bool,
    restartCount 5 *int, image 6, imageID 7, containerID 8, started 9 *bool,
    allocatedResources 10 map:quantity, resources 11 ResourceRequirements,
    volumeMounts 12 []VolumeMountStatus, user 13 ContainerUser,
    allocatedResourcesStatus 14 []ResourceStatus, stopSignal 15 *string
ContainerUser: linux 1 LinuxContainerUser
DownwardAPIProjection: items 1 []DownwardAPIVolumeFile
DownwardAPIVolumeFile: path 1, fieldRef 2 ObjectFieldSelector, resourceFieldRef 3 ResourceFieldSelector,
    mode 4 *int
DownwardAPIVolumeSource: items 1 []DownwardAPIVolumeFile, defaultMode 2 *int
EmptyDirVolumeSource: medium 1, sizeLimit 2 quantity
EnvFromSource: prefix 1, configMapRef 2 ConfigMapEnvSource, secretRef 3 SecretEnvSource
EnvVar: name 1, value 2, valueFrom 3 EnvVarSource
EnvVarSource: fieldRef 1 ObjectFieldSelector, resourceFieldRef 2 ResourceFieldSelector,
    configMapKeyRef 3 ConfigMapKeySelector, secretKeyRef 4 SecretKeySelector,
    fileKeyRef 5 FileKeySelector
EphemeralContainer: - 1 EphemeralContainerCommon, targetContainerName 2
EphemeralContainerCommon: name 1, image 2, command 3 []string, args 4 []string, workingDir 5,
    ports 6 []ContainerPort, envFrom 19 []EnvFromSource, env 7 []EnvVar,
    resources 8 ResourceRequirements, resizePolicy 23 []ContainerResizePolicy, restartPolicy 24 *string,
    restartPolicyRules 25 []ContainerRestartRule, volumeMounts 9 []VolumeMount,
    volumeDevices 21 []VolumeDevice, livenessProbe 10 Probe, readinessProbe 11 Probe,
    startupProbe 22 Probe, lifecycle 12 Lifecycle, terminationMessagePath 13,
    terminationMessagePolicy 20, imagePullPolicy 14, securityContext 15 SecurityContext, stdin 16 bool,
    stdinOnce 17 bool, tty 18 bool
EphemeralVolumeSource: volumeClaimTemplate 1 PersistentVolumeClaimTemplate
ExecAction: command 1 []string
FCVolumeSource: targetWWNs 1 []string, lun 2 *int, fsType 3, readOnly 4 bool, wwids 5 []string
FileKeySelector: volumeName 1, path 2, key 3, optional 4 *bool
FlexVolumeSource: driver 1, fsType 2, secretRef 3 LocalObjectReference, readOnly 4 bool,
    options 5 map:string
FlockerVolumeSource: datasetName 1, datasetUUID 2
GCEPersistentDiskVolumeSource: pdName 1, fsType 2, partition 3 int, readOnly 4 bool
GRPCAction: port 1 *int, service 2 *string
GitRepoVolumeSource: repository 1, revision 2, directory 3
GlusterfsVolumeSource: endpoints 1, path 2, readOnly 3 bool
HTTPGetAction: path 1, port 2 *intorstring, host 3, scheme 4, httpHeaders 5 []HTTPHeader
HTTPHeader: name 1, value 2
HostAlias: ip 1, hostnames 2 []string
HostIP: ip 1
HostPathVolumeSource: path 1, type 2 *string
ISCSIVolumeSource: targetPortal 1, iqn 2, lun 3 *int, iscsiInterface 4, fsType 5, readOnly 6 bool,
    portals 7 []string, chapAuthDiscovery 8 bool, chapAuthSession 11 bool,
    secretRef 10 LocalObjectReference, initiatorName 12 *string
ImageVolumeSource: reference 1, pullPolicy 2
ImageVolumeStatus: imageRef 1
KeyToPath: key 1, path 2, mode 3 *int
Lifecycle: postStart 1 LifecycleHandler, preStop 2 LifecycleHandler, stopSignal 3 *string
LifecycleHandler: exec 1 ExecAction, httpGet 2 HTTPGetAction, tcpSocket 3 TCPSocketAction,
    sleep 4 SleepAction
LinuxContainerUser: uid 1 *int, gid 2 *int, supplementalGroups 3 []int
LocalObjectReference: name 1
NFSVolumeSource: server 1, path 2, readOnly 3 bool
NodeAffinity: requiredDuringSchedulingIgnoredDuringExecution 1 NodeSelector,
    preferredDuringSchedulingIgnoredDuringExecution 2 []PreferredSchedulingTerm
NodeSelector: nodeSelectorTerms 1 []NodeSelectorTerm
NodeSelectorRequirement: key 1, operator 2, values 3 []string
NodeSelectorTerm: matchExpressions 1 []NodeSelectorRequirement, matchFields 2 []NodeSelectorRequirement
ObjectFieldSelector: apiVersion 1, fieldPath 2
PersistentVolumeClaimSpec: accessModes 1 []string, selector 4 LabelSelector,
    resources 2 VolumeResourceRequirements, volumeName 3, storageClassName 5 *string,
    volumeMode 6 *string, dataSource 7 TypedLocalObjectReference, dataSourceRef 8 TypedObjectReference,
    volumeAttributesClassName 9 *string
PersistentVolumeClaimTemplate: metadata 1 ObjectMeta, spec 2 PersistentVolumeClaimSpec
PersistentVolumeClaimVolumeSource: claimName 1, readOnly 2 bool
PhotonPersistentDiskVolumeSource: pdID 1, fsType 2
Pod: metadata 1 ObjectMeta, spec 2 PodSpec, status 3 PodStatus
PodAffinity: requiredDuringSchedulingIgnoredDuringExecution 1 []PodAffinityTerm,
    preferredDuringSchedulingIgnoredDuringExecution 2 []WeightedPodAffinityTerm
PodAffinityTerm: labelSelector 1 LabelSelector, namespaces 2 []string, topologyKey 3,
    namespaceSelector 4 LabelSelector, matchLabelKeys 5 []string, mismatchLabelKeys 6 []string
PodAntiAffinity: requiredDuringSchedulingIgnoredDuringExecution 1 []PodAffinityTerm,
    preferredDuringSchedulingIgnoredDuringExecution 2 []WeightedPodAffinityTerm
PodCertificateProjection: signerName 1, keyType 2, maxExpirationSeconds 3 *int, credentialBundlePath 4,
    keyPath 5, certificateChainPath 6, userAnnotations 7 map:string
PodCondition: type 1, observedGeneration 7 int, status 2, lastProbeTime 3 time,
    lastTransitionTime 4 time, reason 5, message 6
PodDNSConfig: nameservers 1 []string, searches 2 []string, options 3 []PodDNSConfigOption
PodDNSConfigOption: name 1, value 2 *string
PodExtendedResourceClaimStatus: requestMappings 1 []ContainerExtendedResourceRequest,
    resourceClaimName 2
PodIP: ip 1
PodOS: name 1
PodReadinessGate: conditionType 1
PodResourceClaim: name 1, resourceClaimName 3 *string, resourceClaimTemplateName 4 *string
PodResourceClaimStatus: name 1, resourceClaimName 2 *string
PodSchedulingGate: name 1
PodSecurityContext: seLinuxOptions 1 SELinuxOptions, windowsOptions 8 WindowsSecurityContextOptions,
    runAsUser 2 *int, runAsGroup 6 *int, runAsNonRoot 3 *bool, supplementalGroups 4 []int,
    supplementalGroupsPolicy 12 *string, fsGroup 5 *int, sysctls 7 []Sysctl,
    fsGroupChangePolicy 9 *string, seccompProfile 10 SeccompProfile, appArmorProfile 11 AppArmorProfile,
    seLinuxChangePolicy 13 *string
PodSpec: volumes 1 []Volume, initContainers 20 []Container, containers 2 []Container,
    ephemeralContainers 34 []EphemeralContainer, restartPolicy 3, terminationGracePeriodSeconds 4 *int,
    activeDeadlineSeconds 5 *int, dnsPolicy 6, nodeSelector 7 map:string, serviceAccountName 8,
    serviceAccount 9, automountServiceAccountToken 21 *bool, nodeName 10, hostNetwork 11 bool,
    hostPID 12 bool, hostIPC 13 bool, shareProcessNamespace 27 *bool,
    securityContext 14 PodSecurityContext, imagePullSecrets 15 []LocalObjectReference, hostname 16,
    subdomain 17, affinity 18 Affinity, schedulerName 19, tolerations 22 []Toleration,
    hostAliases 23 []HostAlias, priorityClassName 24, priority 25 *int, dnsConfig 26 PodDNSConfig,
    readinessGates 28 []PodReadinessGate, runtimeClassName 29 *string, enableServiceLinks 30 *bool,
    preemptionPolicy 31 *string, overhead 32 map:quantity,
    topologySpreadConstraints 33 []TopologySpreadConstraint, setHostnameAsFQDN 35 *bool, os 36 PodOS,
    hostUsers 37 *bool, schedulingGates 38 []PodSchedulingGate, resourceClaims 39 []PodResourceClaim,
    resources 40 ResourceRequirements, hostnameOverride 41 *string
PodStatus: observedGeneration 17 int, phase 1, conditions 2 []PodCondition, message 3, reason 4,
    nominatedNodeName 11, hostIP 5, hostIPs 16 []HostIP, podIP 6, podIPs 12 []PodIP, startTime 7 time,
    initContainerStatuses 10 []ContainerStatus, containerStatuses 8 []ContainerStatus, qosClass 9,
    ephemeralContainerStatuses 13 []ContainerStatus, resize 14,
    resourceClaimStatuses 15 []PodResourceClaimStatus,
    extendedResourceClaimStatus 18 PodExtendedResourceClaimStatus, allocatedResources 19 map:quantity,
    resources 20 ResourceRequirements
PortworxVolumeSource: volumeID 1, fsType 2, readOnly 3 bool
PreferredSchedulingTerm: weight 1 *int, preference 2 NodeSelectorTerm
Probe: - 1 ProbeHandler, initialDelaySeconds 2 int, timeoutSeconds 3 int, periodSeconds 4 int,
    successThreshold 5 int, failureThreshold 6 int, terminationGracePeriodSeconds 7 *int
ProbeHandler: exec 1 ExecAction, httpGet 2 HTTPGetAction, tcpSocket 3 TCPSocketAction, grpc 4 GRPCAction
ProjectedVolumeSource: sources 1 []VolumeProjection, defaultMode 2 *int
QuobyteVolumeSource: registry 1, volume 2, readOnly 3 bool, user 4, group 5, tenant 6
RBDVolumeSource: monitors 1 []string, image 2, fsType 3, pool 4, user 5, keyring 6,
    secretRef 7 LocalObjectReference, readOnly 8 bool
ResourceClaim: name 1, request 2
ResourceFieldSelector: containerName 1, resource 2, divisor 3 quantity
ResourceHealth: resourceID 1, health 2, message 6 *string
ResourceRequirements: limits 1 map:quantity, requests 2 map:quantity, claims 3 []ResourceClaim
ResourceStatus: name 1, resources 2 []ResourceHealth
SELinuxOptions: user 1, role 2, type 3, level 4
ScaleIOVolumeSource: gateway 1, system 2, secretRef 3 LocalObjectReference, sslEnabled 4 bool,
    protectionDomain 5, storagePool 6, storageMode 7, volumeName 8, fsType 9, readOnly 10 bool
SeccompProfile: type 1, localhostProfile 2 *string
SecretEnvSource: - 1 LocalObjectReference, optional 2 *bool
SecretKeySelector: - 1 LocalObjectReference, key 2, optional 3 *bool
SecretProjection: - 1 LocalObjectReference, items 2 []KeyToPath, optional 4 *bool
SecretVolumeSource: secretName 1, items 2 []KeyToPath, defaultMode 3 *int, optional 4 *bool
SecurityContext: capabilities 1 Capabilities, privileged 2 *bool, seLinuxOptions 3 SELinuxOptions,
    windowsOptions 10 WindowsSecurityContextOptions, runAsUser 4 *int, runAsGroup 8 *int,
    runAsNonRoot 5 *bool, readOnlyRootFilesystem 6 *bool, allowPrivilegeEscalation 7 *bool,
    procMount 9 *string, seccompProfile 11 SeccompProfile, appArmorProfile 12 AppArmorProfile
ServiceAccountTokenProjection: audience 1, expirationSeconds 2 *int, path 3
SleepAction: seconds 1 *int
StorageOSVolumeSource: volumeName 1, volumeNamespace 2, fsType 3, readOnly 4 bool,
    secretRef 5 LocalObjectReference
Sysctl: name 1, value 2
TCPSocketAction: port 1 *intorstring, host 2
Taint: key 1, value 2, effect 3, timeAdded 4 time
Toleration: key 1, operator 2, value 3, effect 4, tolerationSeconds 5 *int
TopologySpreadConstraint: maxSkew 1 *int, topologyKey 2, whenUnsatisfiable 3,
    labelSelector 4 LabelSelector, minDomains 5 *int, nodeAffinityPolicy 6 *string,
    nodeTaintsPolicy 7 *string, matchLabelKeys 8 []string
TypedLocalObjectReference: apiGroup 1 *string, kind 2, name 3
TypedObjectReference: apiGroup 1 *string, kind 2, name 3, namespace 4 *string
Volume: name 1, - 2 VolumeSource
VolumeDevice: name 1, devicePath 2
VolumeMount: name 1, readOnly 2 bool, recursiveReadOnly 7 *string, mountPath 3, subPath 4,
    mountPropagation 5 *string, subPathExpr 6
VolumeMountStatus: name 1, mountPath 2, readOnly 3 bool, recursiveReadOnly 4 *string,
    volumeStatus 5 VolumeStatus
VolumeProjection: secret 1 SecretProjection, downwardAPI 2 DownwardAPIProjection,
    configMap 3 ConfigMapProjection, serviceAccountToken 4 ServiceAccountTokenProjection,
    clusterTrustBundle 5 ClusterTrustBundleProjection, podCertificate 6 PodCertificateProjection
VolumeResourceRequirements: limits 1 map:quantity, requests 2 map:quantity
VolumeSource: hostPath 1 HostPathVolumeSource, emptyDir 2 EmptyDirVolumeSource,
    gcePersistentDisk 3 GCEPersistentDiskVolumeSource,
    awsElasticBlockStore 4 AWSElasticBlockStoreVolumeSource, gitRepo 5 GitRepoVolumeSource,
    secret 6 SecretVolumeSource, nfs 7 NFSVolumeSource, iscsi 8 ISCSIVolumeSource,
    glusterfs 9 GlusterfsVolumeSource, persistentVolumeClaim 10 PersistentVolumeClaimVolumeSource,
    rbd 11 RBDVolumeSource, flexVolume 12 FlexVolumeSource, cinder 13 CinderVolumeSource,
    cephfs 14 CephFSVolumeSource, flocker 15 FlockerVolumeSource, downwardAPI 16 DownwardAPIVolumeSource,
    fc 17 FCVolumeSource, azureFile 18 AzureFileVolumeSource, configMap 19 ConfigMapVolumeSource,
    vsphereVolume 20 VsphereVirtualDiskVolumeSource, quobyte 21 QuobyteVolumeSource,
    azureDisk 22 AzureDiskVolumeSource, photonPersistentDisk 23 PhotonPersistentDiskVolumeSource,
    projected 26 ProjectedVolumeSource, portworxVolume 24 PortworxVolumeSource,
    scaleIO 25 ScaleIOVolumeSource, storageos 27 StorageOSVolumeSource, csi 28 CSIVolumeSource,
    ephemeral 29 EphemeralVolumeSource, image 30 ImageVolumeSource
VolumeStatus: image 1 ImageVolumeStatus
VsphereVirtualDiskVolumeSource: volumePath 1, fsType 2, storagePolicyName 3, storagePolicyID 4
WeightedPodAffinityTerm: weight 1 *int, podAffinityTerm 2 PodAffinityTerm
WindowsSecurityContextOptions: gmsaCredentialSpecName 1 *string, gmsaCredentialSpec 2 *string,
    runAsUserName 3 *string, hostProcess 4 *bool
"""

OTHERS = """
Eviction: metadata 1 ObjectMeta, deleteOptions 2 DeleteOptions
PriorityClass: metadata 1 ObjectMeta, value 2 *int, globalDefault 3 bool, description 4,
    preemptionPolicy 5 *string
SelfSubjectAccessReview: metadata 1 ObjectMeta, spec 2 SelfSubjectAccessReviewSpec,
    status 3 SubjectAccessReviewStatus
SelfSubjectAccessReviewSpec: resourceAttributes 1 ResourceAttributes,
    nonResourceAttributes 2 NonResourceAttributes
ResourceAttributes: namespace 1, verb 2, group 3, version 4, resource 5, subresource 6, name 7,
    fieldSelector 8 FieldSelectorAttributes, labelSelector 9 LabelSelectorAttributes
FieldSelectorAttributes: rawSelector 1, requirements 2 []FieldSelectorRequirement
LabelSelectorAttributes: rawSelector 1, requirements 2 []LabelSelectorRequirement
NonResourceAttributes: path 1, verb 2
SubjectAccessReviewStatus: allowed 1 *bool, denied 4 bool, reason 2, evaluationError 3
SelfSubjectReview: metadata 1 ObjectMeta, status 2 SelfSubjectReviewStatus
SelfSubjectReviewStatus: userInfo 1 UserInfo
UserInfo: username 1, uid 2, groups 3 []string, extra 4 map:strlist
"""

# (API group, kind) of a whole body -> its message. The versions of a group
# share the layout for these kinds; DeleteOptions is accepted in any group.
TOP_LEVEL: dict[tuple[str, str], str] = {
    ("", "Namespace"): "Namespace",
    ("", "Binding"): "Binding",
    ("", "Pod"): "Pod",
    ("policy", "Eviction"): "Eviction",
    ("scheduling.k8s.io", "PriorityClass"): "PriorityClass",
    ("authorization.k8s.io", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authentication.k8s.io", "SelfSubjectReview"): "SelfSubjectReview",
}

SCALARS = frozenset({"string", "int", "bool", "bytes"})
WRAPPERS = frozenset({"time", "quantity", "intorstring", "fieldsv1", "strlist"})


@dataclass(frozen=True)
class Field:
    name: str  # JSON name; "-" for an inlined embedded struct
    type: str  # scalar, wrapper or message name
    repeated: bool = False
    map: bool = False
    keep_zero: bool = False


def parse_table(text: str) -> dict[str, dict[int, Field]]:
    """Parse the table format described in the module docstring."""
    messages: dict[str, dict[int, Field]] = {}
    logical: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith(" ") and logical:
            logical[-1] += " " + line.strip()
        else:
            logical.append(line.strip())
    for entry in logical:
        name, body = entry.split(":", 1)
        fields: dict[int, Field] = {}
        for spec in body.split(","):
            parts = spec.split()
            typ = parts[2] if len(parts) > 2 else "string"
            keep = typ.startswith("*")
            typ = typ.lstrip("*")
            repeated, is_map = typ.startswith("[]"), typ.startswith("map:")
            typ = typ[2:] if repeated else typ[4:] if is_map else typ
            num = int(parts[1])
            if num in fields:
                raise ValueError(f"{name}: field number {num} used twice")
            fields[num] = Field(parts[0], typ, repeated, is_map, keep)
        if name in messages:
            raise ValueError(f"message {name} defined twice")
        messages[name] = fields
    return messages


MESSAGES = parse_table(META + CORE + OTHERS)
MESSAGES["runtime.TypeMeta"] = {1: Field("apiVersion", "string"), 2: Field("kind", "string")}
