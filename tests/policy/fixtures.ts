import { restrictedContainerSecurity, restrictedPodSecurity } from "../../components/podSecurity";
import { StackFacts } from "../../policy/facts";
import { policyPackConfig } from "../../policy/policies";
import { AdaptedResource } from "./policyArgsAdapter";

/** Stack facts of a made-up non-prod stack, as scripts/policy-config.ts would derive them. */
export const FACTS: StackFacts = {
    stack: "test",
    production: false,
    registryServer: "ghcr.io",
    registryOwner: "streamspace-dev",
    allowPublicSessionServices: false,
    allowWarmGpuNodes: false,
    sessionImages: ["chrome-selkies", "selkies-base"],
    sessionPorts: [
        { name: "kasmvnc", port: 3000 },
        { name: "vnc", port: 5900 },
        { name: "novnc", port: 6080 },
        { name: "selkies", port: 8080 },
    ],
    turnPorts: [
        { name: "turn-tcp", port: 3478 },
        { name: "turn-udp", port: 3478 },
    ],
};

export const CONFIG = policyPackConfig(FACTS);

export function configWith(changes: Partial<StackFacts>) {
    return policyPackConfig({ ...FACTS, ...changes });
}

export const DIGEST = `sha256:${"ab".repeat(32)}`;
export const SESSION_IMAGE = `ghcr.io/streamspace-dev/chrome-selkies@${DIGEST}`;
export const PROBE_IMAGE = `ghcr.io/streamspace-dev/stream-probe@${DIGEST}`;

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A session pod that meets every standard: the program's own security contexts, bounds and /dev/shm. */
export function sessionPod(): Record<string, any> {
    return clone({
        metadata: { labels: { "app.kubernetes.io/name": "chrome-selkies", "app.kubernetes.io/component": "session" } },
        spec: {
            securityContext: restrictedPodSecurity,
            containers: [
                {
                    name: "session",
                    image: SESSION_IMAGE,
                    resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "4", memory: "8Gi" } },
                    securityContext: restrictedContainerSecurity,
                    volumeMounts: [{ name: "dshm", mountPath: "/dev/shm" }],
                },
            ],
            volumes: [{ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "2Gi" } }],
        },
    });
}

/** The compliant session pod in a Deployment named `session`; `change` edits its pod template. */
export function deployment(change: (pod: Record<string, any>) => void = () => undefined): AdaptedResource {
    const template = sessionPod();
    change(template);
    return { type: "kubernetes:apps/v1:Deployment", name: "session", props: { metadata: { name: "session" }, spec: { replicas: 1, template } } };
}

/** The first container of a pod template. */
export function mainContainer(pod: Record<string, any>): Record<string, any> {
    return pod.spec.containers[0];
}

/** A compliant non-session workload (the probe): no /dev/shm needed. */
export function probeJob(change: (pod: Record<string, any>) => void = () => undefined): AdaptedResource {
    const template = sessionPod();
    template.metadata.labels = { "app.kubernetes.io/name": "stream-probe", "app.kubernetes.io/component": "probe" };
    const container = mainContainer(template);
    container.name = "probe";
    container.image = PROBE_IMAGE;
    container.volumeMounts = [];
    template.spec.volumes = [];
    change(template);
    return { type: "kubernetes:batch/v1:Job", name: "session-test-probe", props: { spec: { backoffLimit: 2, template } } };
}

export function service(spec: Record<string, any>, name = "session"): AdaptedResource {
    return { type: "kubernetes:core/v1:Service", name, props: { metadata: { name }, spec } };
}
