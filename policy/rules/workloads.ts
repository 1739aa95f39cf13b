import { DEFAULT_CONTAINER_ANNOTATION, GPU_NODE_LABEL, GPU_RESOURCE, GPU_TAINT } from "../../components/workloadScheduling";
import { quantityValue } from "../../config/fields";
import { StackFacts } from "../facts";
import { CheckedResource, describe, violation } from "../resources";

/** Where each workload kind keeps its pod template. */
const POD_TEMPLATES: Record<string, (props: Record<string, any>) => { spec?: any; metadata?: any } | undefined> = {
    "kubernetes:core/v1:Pod": (p) => p,
    "kubernetes:core/v1:PodTemplate": (p) => p.template,
    "kubernetes:core/v1:ReplicationController": (p) => p.spec?.template,
    "kubernetes:apps/v1:Deployment": (p) => p.spec?.template,
    "kubernetes:apps/v1:StatefulSet": (p) => p.spec?.template,
    "kubernetes:apps/v1:DaemonSet": (p) => p.spec?.template,
    "kubernetes:apps/v1:ReplicaSet": (p) => p.spec?.template,
    "kubernetes:batch/v1:Job": (p) => p.spec?.template,
    "kubernetes:batch/v1:CronJob": (p) => p.spec?.jobTemplate?.spec?.template,
};

/** The resource types the workload policies inspect. */
export const WORKLOAD_TYPES = Object.keys(POD_TEMPLATES);

/** The pod label that marks a StreamSpace session pod (the test session sets it). */
export const SESSION_COMPONENT_LABEL = { key: "app.kubernetes.io/component", value: "session" } as const;


/** The smallest memory-backed /dev/shm a session gets: Chrome shares its rendered frames through it. */
export const MIN_SESSION_SHM = "1Gi";

/** Capabilities a container may add back after dropping ALL (what the "restricted" Pod Security Standard allows). */
const ALLOWED_ADDED_CAPABILITIES = ["NET_BIND_SERVICE"];

const SECURITY_FIX = "use restrictedPodSecurity and restrictedContainerSecurity of components/podSecurity.ts";

/** A workload: its pod spec and, read only when asked, its pod labels and annotations. */
export interface Workload {
    where: string;
    pod: any;
    podLabels(): Record<string, string> | undefined;
    podAnnotations(): Record<string, string> | undefined;
}

/** The workload a resource is, or undefined for resources that run no pods. */
export function asWorkload(resource: CheckedResource): Workload | undefined {
    const templateOf = POD_TEMPLATES[resource.type];
    if (!templateOf) return undefined;
    const template = templateOf(resource.props);
    return {
        where: describe(resource),
        pod: template?.spec ?? {},
        podLabels: () => template?.metadata?.labels,
        podAnnotations: () => template?.metadata?.annotations,
    };
}

interface ContainerRef {
    container: any;
    where: string;
}

function containers(w: Workload, opts: { init?: boolean } = { init: true }): ContainerRef[] {
    const init: any[] = opts.init ? w.pod.initContainers ?? [] : [];
    const main: any[] = w.pod.containers ?? [];
    return [
        ...init.map((c) => ({ container: c, where: `${w.where}, init container "${c.name}"` })),
        ...main.map((c) => ({ container: c, where: `${w.where}, container "${c.name}"` })),
    ];
}

const DIGEST_REFERENCE = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

/** Every image is referenced by digest: what was tested is what runs, and a moved tag changes nothing. */
export function imageDigest(w: Workload): string[] {
    return containers(w)
        .filter(({ container }) => !DIGEST_REFERENCE.test(String(container.image ?? "")))
        .map(({ container, where }) =>
            violation(
                where,
                `image "${container.image ?? ""}" is not referenced by digest, so a re-pushed tag silently changes what runs`,
                "reference it as <repository>@sha256:<digest> (a SessionImage's repoDigest output; a stack needs imagePush true to have digests)",
            ),
        );
}

/** Every container runs as a non-root user, enforced by the kubelet. */
export function runAsNonRoot(w: Workload): string[] {
    const pod = w.pod.securityContext ?? {};
    const out: string[] = [];
    for (const { container, where } of containers(w)) {
        const own = container.securityContext ?? {};
        const nonRoot = own.runAsNonRoot ?? pod.runAsNonRoot;
        const user = own.runAsUser ?? pod.runAsUser;
        if (nonRoot !== true) {
            out.push(violation(where, "runAsNonRoot is not true, so the image's USER decides and may be root", `set securityContext.runAsNonRoot: true on the pod or the container (${SECURITY_FIX})`));
        }
        if (user === 0) {
            out.push(violation(where, "runAsUser is 0 (root)", "run as the session user, runAsUser: 1000 (SESSION_UID of components/podSecurity.ts)"));
        }
    }
    return out;
}

/** No container may gain privileges: not privileged, and no setuid escalation. */
export function noPrivilegeEscalation(w: Workload): string[] {
    const out: string[] = [];
    for (const { container, where } of containers(w)) {
        const own = container.securityContext ?? {};
        if (own.privileged === true) {
            out.push(violation(where, "runs privileged (all host devices and capabilities)", "remove privileged: true; a session needs no host access"));
        }
        if (own.allowPrivilegeEscalation !== false) {
            out.push(violation(where, "allowPrivilegeEscalation is not false, so setuid binaries can gain root", `set securityContext.allowPrivilegeEscalation: false on the container (${SECURITY_FIX})`));
        }
    }
    return out;
}

/** Every container drops all Linux capabilities (and adds back at most NET_BIND_SERVICE). */
export function capabilitiesDropped(w: Workload): string[] {
    const out: string[] = [];
    for (const { container, where } of containers(w)) {
        const caps = container.securityContext?.capabilities ?? {};
        const drop: string[] = caps.drop ?? [];
        const add: string[] = caps.add ?? [];
        if (!drop.includes("ALL")) {
            out.push(violation(where, `capabilities are not dropped (drop: ${JSON.stringify(drop)})`, `set securityContext.capabilities.drop: ["ALL"] (${SECURITY_FIX})`));
        }
        const extra = add.filter((c) => !ALLOWED_ADDED_CAPABILITIES.includes(c));
        if (extra.length > 0) {
            out.push(violation(where, `adds the capabilities ${extra.join(", ")}`, `remove them from securityContext.capabilities.add; only ${ALLOWED_ADDED_CAPABILITIES.join(", ")} may be added back`));
        }
    }
    return out;
}

/** Every container runs under the container runtime's default seccomp profile. */
export function seccompRuntimeDefault(w: Workload): string[] {
    const pod = w.pod.securityContext?.seccompProfile?.type;
    return containers(w)
        .map(({ container, where }) => ({ where, profile: container.securityContext?.seccompProfile?.type ?? pod }))
        .filter(({ profile }) => profile !== "RuntimeDefault")
        .map(({ where, profile }) =>
            violation(where, profile ? `seccomp profile is ${profile}` : "has no seccomp profile (Unconfined on most runtimes)", `set securityContext.seccompProfile.type: RuntimeDefault on the pod (${SECURITY_FIX})`),
        );
}

/** Every container has CPU and memory requests (scheduling) and limits (a bounded node share). */
export function resourceBounds(w: Workload): string[] {
    const out: string[] = [];
    for (const { container, where } of containers(w)) {
        const missing = (["requests", "limits"] as const).flatMap((kind) =>
            (["cpu", "memory"] as const).filter((r) => !container.resources?.[kind]?.[r]).map((r) => `${kind}.${r}`),
        );
        if (missing.length > 0) {
            out.push(violation(where, `has no resources.${missing.join(", resources.")}`, "set CPU and memory requests and limits (for the test session: sessionTestCpuRequest, sessionTestCpuLimit, sessionTestMemoryRequest, sessionTestMemoryLimit)"));
        }
    }
    return out;
}

/** Whether a toleration tolerates a taint, as the Kubernetes scheduler decides it. */
export function tolerates(t: { key?: string; operator?: string; value?: string; effect?: string }, taint: { key: string; value: string; effect: string }): boolean {
    if (t.effect && t.effect !== taint.effect) return false;
    const operator = t.operator ?? "Equal";
    if (!t.key) return operator === "Exists";
    if (t.key !== taint.key) return false;
    return operator === "Exists" || (operator === "Equal" && (t.value ?? "") === taint.value);
}

const GPU_SCHEDULING_FIX = `add the GPU pool's scheduling (the stack output gpuScheduling): the toleration {key: ${GPU_TAINT.key}, operator: Exists, effect: ${GPU_TAINT.effect}} and the node selector ${GPU_NODE_LABEL.key}: ${GPU_NODE_LABEL.value}`;

/** A container that asks for a GPU runs on the GPU pool: it tolerates the pool's taint, and its GPU count is bounded. */
export function gpuTolerations(w: Workload): string[] {
    const out: string[] = [];
    const gpuContainers = containers(w).filter(({ container }) => container.resources?.limits?.[GPU_RESOURCE] !== undefined || container.resources?.requests?.[GPU_RESOURCE] !== undefined);
    if (gpuContainers.length === 0) return out;
    for (const { container, where } of gpuContainers) {
        const limit = container.resources?.limits?.[GPU_RESOURCE];
        if (limit === undefined) {
            out.push(violation(where, `requests ${GPU_RESOURCE} without a limit`, `set resources.limits["${GPU_RESOURCE}"] (GPUs are allocated by their limit; requests must equal it)`));
        } else if (!/^[1-9][0-9]*$/.test(String(limit))) {
            out.push(violation(where, `limits ${GPU_RESOURCE} to "${limit}", which is not a whole number of GPUs`, `set resources.limits["${GPU_RESOURCE}"]: "1"`));
        }
    }
    const tolerations: any[] = w.pod.tolerations ?? [];
    if (!tolerations.some((t) => tolerates(t, GPU_TAINT))) {
        out.push(
            violation(
                w.where,
                `asks for ${GPU_RESOURCE} but does not tolerate the GPU pool's taint ${GPU_TAINT.key}=${GPU_TAINT.value}:${GPU_TAINT.effect}, so it stays Pending on the pool's nodes or takes a GPU outside the pool`,
                GPU_SCHEDULING_FIX,
            ),
        );
    }
    return out;
}

function imageName(reference: string): string {
    const withoutDigest = reference.split("@")[0];
    const lastPart = withoutDigest.split("/").pop() ?? "";
    return lastPart.replace(/:[^:]*$/, "");
}

/** A session container mounts a memory-backed /dev/shm of a set size (the default 64 MiB crashes Chrome and stalls the encoder). */
export function sessionShm(w: Workload, facts: Pick<StackFacts, "sessionImages">): string[] {
    // The label is read first: during preview the images are digests not known yet. In a labelled
    // pod with helpers beside the session (the TURN relay), the default-container annotation says
    // which container is the session.
    const labelled = w.podLabels()?.[SESSION_COMPONENT_LABEL.key] === SESSION_COMPONENT_LABEL.value;
    const main = w.podAnnotations()?.[DEFAULT_CONTAINER_ANNOTATION];
    const sessionContainers = containers(w, { init: false }).filter(
        ({ container }) =>
            (labelled && (main === undefined || container.name === main)) || facts.sessionImages.includes(imageName(String(container.image ?? ""))),
    );
    const volumes = new Map<string, any>(((w.pod.volumes ?? []) as any[]).map((v) => [v.name, v]));
    const out: string[] = [];
    const fix = `mount an emptyDir volume with medium: Memory and a sizeLimit of at least ${MIN_SESSION_SHM} at /dev/shm (for the test session: sessionTestShmSize)`;
    for (const { container, where } of sessionContainers) {
        const mount = ((container.volumeMounts ?? []) as any[]).find((m) => m.mountPath === "/dev/shm");
        const volume = mount ? volumes.get(mount.name) : undefined;
        if (!mount) {
            out.push(violation(where, "runs a session image without its own /dev/shm, so it gets the runtime's 64 MiB", fix));
        } else if (volume?.emptyDir?.medium !== "Memory") {
            out.push(violation(where, `mounts volume "${mount.name}" at /dev/shm, which is not a memory-backed emptyDir`, fix));
        } else if (!volume.emptyDir.sizeLimit) {
            out.push(violation(where, `/dev/shm (volume "${mount.name}") has no sizeLimit, so it may take the pod's whole memory`, fix));
        } else if (!(quantityValue(String(volume.emptyDir.sizeLimit)) >= quantityValue(MIN_SESSION_SHM))) {
            out.push(violation(where, `/dev/shm (volume "${mount.name}") is ${volume.emptyDir.sizeLimit}, less than ${MIN_SESSION_SHM}`, fix));
        }
    }
    return out;
}

/** No pod shares the node's network, process or IPC namespace. */
export function hostNamespaces(w: Workload): string[] {
    return (["hostNetwork", "hostPID", "hostIPC"] as const)
        .filter((field) => w.pod[field] === true)
        .map((field) => violation(w.where, `sets ${field}: true, which shares the node's ${field.slice(4)} namespace with the pod`, `remove ${field} from the pod spec; reach sessions through a Service`));
}
