import * as k8s from "@pulumi/kubernetes";

/** The uid and gid every StreamSpace container runs as (StreamSpace's agent forces PUID/PGID 1000). */
export const SESSION_UID = 1000;

/**
 * The pod-level security context of every workload of the session test: what the Kubernetes
 * "restricted" Pod Security Standard demands, which its namespace enforces.
 */
export const restrictedPodSecurity: k8s.types.input.core.v1.PodSecurityContext = {
    runAsNonRoot: true,
    runAsUser: SESSION_UID,
    runAsGroup: SESSION_UID,
    fsGroup: SESSION_UID,
    seccompProfile: { type: "RuntimeDefault" },
};

/** The container-level half: no privilege, no escalation, no capabilities. */
export const restrictedContainerSecurity: k8s.types.input.core.v1.SecurityContext = {
    runAsNonRoot: true,
    runAsUser: SESSION_UID,
    runAsGroup: SESSION_UID,
    privileged: false,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

/** Labels that make a namespace reject any pod that is not "restricted". */
export const restrictedNamespaceLabels: Record<string, string> = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
};
