import * as k8s from "@pulumi/kubernetes";
import type { Input } from "@pulumi/pulumi";
import type { ImagePort } from "../catalog";
import { SessionTestConfig } from "../config/sessionTest";
import { SESSION_UID, restrictedContainerSecurity, restrictedPodSecurity } from "./podSecurity";
import { DEFAULT_CONTAINER_ANNOTATION, GPU_RESOURCE, WorkloadScheduling } from "./workloadScheduling";

// The test session's pod and the stream-probe's pod as plain functions of their inputs: no Pulumi
// resource, no Output, so each is tested with an exact deepEqual. SessionTest wires them.

type EnvVar = k8s.types.input.core.v1.EnvVar;
type EnvVarSource = k8s.types.input.core.v1.EnvVarSource;
type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type PodTemplateSpec = k8s.types.input.core.v1.PodTemplateSpec;

/** The port Selkies serves its web client, signalling and `/health` on when the image names none. */
export const SELKIES_PORT = 8080;
/** Where the probe reads the session's password from (a Secret volume). */
export const PROBE_CREDENTIALS_DIR = "/run/secrets/session";

const secretKey = (secret: Input<string>, key: string): EnvVarSource => ({ secretKeyRef: { name: secret, key } });

/** The image's ports, or Selkies' own when the image names none; and the one its web client is on. */
export function sessionPorts(ports: ImagePort[]): { ports: ImagePort[]; web: ImagePort } {
    const all = ports.length > 0 ? ports : [{ name: "selkies", port: SELKIES_PORT, protocol: "TCP" as const }];
    return { ports: all, web: all.find((p) => p.name === "selkies") ?? all[0] };
}

export interface SessionEnvArgs {
    config: SessionTestConfig;
    scheduling: WorkloadScheduling;
    /** Secret with `username` and `password` of the web client. */
    credentialsSecret: Input<string>;
    /** Secret with `username` and `password` of the TURN relay, over WebRTC. */
    turnSecret?: Input<string>;
    turnPort?: number;
}

/** The session container's environment: the display, what StreamSpace's agent sets, Selkies' settings. */
export function sessionEnv(args: SessionEnvArgs): EnvVar[] {
    const { config } = args;
    const env: EnvVar[] = [
        { name: "DISPLAY_WIDTH", value: String(config.display.width) },
        { name: "DISPLAY_HEIGHT", value: String(config.display.height) },
        { name: "DISPLAY_DPI", value: String(config.display.dpi) },
        // What StreamSpace's agent forces on every session.
        { name: "PUID", value: String(SESSION_UID) },
        { name: "PGID", value: String(SESSION_UID) },
        { name: "TZ", value: "UTC" },
        // NVENC where the node has it, software otherwise: the image decides at start.
        { name: "SELKIES_ENCODER", value: "auto" },
        { name: "SELKIES_MODE", value: config.transport },
        { name: "SELKIES_ENABLE_BASIC_AUTH", value: "true" },
        { name: "SELKIES_BASIC_AUTH_USER", valueFrom: secretKey(args.credentialsSecret, "username") },
        { name: "SELKIES_BASIC_AUTH_PASSWORD", valueFrom: secretKey(args.credentialsSecret, "password") },
        { name: "VNC_PASSWORD", valueFrom: secretKey(args.credentialsSecret, "password") },
    ];
    if (args.scheduling.requestsGpu) {
        // video: NVENC; graphics: EGL/GLX for the desktop and the browser's GPU process.
        env.push({ name: "NVIDIA_DRIVER_CAPABILITIES", value: "compute,utility,video,graphics" });
    }
    if (args.turnSecret) {
        // The relay runs in the session pod: 127.0.0.1 is the relay for Selkies, and for the
        // browser of a person watching, through a port-forward on its own machine. In the probe's
        // pod that address leads nowhere, which is harmless: the session and the probe reach each
        // other directly.
        env.push(
            { name: "SELKIES_TURN_HOST", value: "127.0.0.1" },
            { name: "SELKIES_TURN_PORT", value: String(args.turnPort) },
            { name: "SELKIES_TURN_PROTOCOL", value: "tcp" },
            { name: "SELKIES_TURN_USERNAME", valueFrom: secretKey(args.turnSecret, "username") },
            { name: "SELKIES_TURN_PASSWORD", valueFrom: secretKey(args.turnSecret, "password") },
        );
    }
    return env;
}

export interface SessionPodArgs {
    config: SessionTestConfig;
    scheduling: WorkloadScheduling;
    labels: Record<string, string>;
    /** The session image by digest. */
    image: Input<string>;
    ports: ImagePort[];
    env: EnvVar[];
    /** Containers and volumes that run beside the session (the TURN relay over WebRTC). */
    sidecars?: { containers: Container[]; volumes: Volume[] };
}

/** The session pod: restricted security, /dev/shm in memory, the GPU where the pool has one, probes on /health. */
export function sessionPodTemplate(args: SessionPodArgs): PodTemplateSpec {
    const { config, scheduling } = args;
    const { ports, web } = sessionPorts(args.ports);
    const health = { httpGet: { path: "/health", port: web.name } };
    const limits: Record<string, string> = { cpu: config.resources.cpuLimit, memory: config.resources.memoryLimit };
    if (scheduling.requestsGpu) limits[GPU_RESOURCE] = "1";
    return {
        // kubectl logs/exec default to the session rather than the relay beside it.
        metadata: { labels: args.labels, annotations: { [DEFAULT_CONTAINER_ANNOTATION]: "session" } },
        spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity,
            // Time for the supervisor to stop the browser and Selkies cleanly.
            terminationGracePeriodSeconds: 60,
            nodeSelector: scheduling.nodeSelector,
            tolerations: scheduling.tolerations,
            ...(scheduling.runtimeClassName ? { runtimeClassName: scheduling.runtimeClassName } : {}),
            containers: [
                {
                    name: "session",
                    image: args.image,
                    imagePullPolicy: "IfNotPresent",
                    env: args.env,
                    ports: ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol })),
                    resources: {
                        requests: { cpu: config.resources.cpuRequest, memory: config.resources.memoryRequest },
                        limits,
                    },
                    // Up to 5 minutes for the X server, the browser and Selkies to come up.
                    startupProbe: { ...health, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 },
                    readinessProbe: { ...health, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                    livenessProbe: { ...health, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
                    securityContext: restrictedContainerSecurity,
                    volumeMounts: [
                        { name: "dshm", mountPath: "/dev/shm" },
                        { name: "home", mountPath: "/config" },
                    ],
                },
                ...(args.sidecars?.containers ?? []),
            ],
            volumes: [
                { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: config.shmSize } },
                // StreamSpace mounts the user's home at /config; the test starts from an empty one.
                { name: "home", emptyDir: {} },
                ...(args.sidecars?.volumes ?? []),
            ],
        },
    };
}

export interface ProbeEnvArgs {
    config: SessionTestConfig;
    /** The session's web client inside the cluster. */
    sessionUrl: string;
    credentialsSecret: string;
    /** The probe's own deadline, from probeTiming. */
    timeoutSeconds: number;
}

/** The probe's interface (images/stream-probe): what to open, what to expect, how long to try. */
export function probeEnv(args: ProbeEnvArgs): EnvVar[] {
    const { config } = args;
    const env: EnvVar[] = [
        { name: "PROBE_URL", value: args.sessionUrl },
        { name: "PROBE_USER", valueFrom: secretKey(args.credentialsSecret, "username") },
        // A file from the Secret rather than a variable: no process environment ever holds it.
        { name: "PROBE_PASSWORD_FILE", value: `${PROBE_CREDENTIALS_DIR}/password` },
        { name: "PROBE_SECONDS", value: String(config.probe.seconds) },
        { name: "PROBE_MIN_FPS", value: String(config.probe.minFps) },
        { name: "PROBE_EXPECT_WIDTH", value: String(config.display.width) },
        { name: "PROBE_EXPECT_HEIGHT", value: String(config.display.height) },
        { name: "PROBE_TIMEOUT_SECONDS", value: String(args.timeoutSeconds) },
        { name: "PROBE_SCREENSHOT", value: "/tmp/stream-probe.png" },
        // The probe reaches the session over plain HTTP on the cluster network; Selkies'
        // WebSockets client needs a secure context, which this origin is then treated as.
        { name: "PROBE_TREAT_AS_SECURE", value: "true" },
    ];
    // Only when asked: the Job of a stack that does not ask keeps its name, so it is not rerun.
    if (config.probe.screenshotLog) env.push({ name: "PROBE_SCREENSHOT_LOG", value: "true" });
    return env;
}

export interface ProbePodArgs {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    /** The stream-probe image by digest. */
    image: string;
    env: EnvVar[];
    credentialsSecret: string;
}

/** One attempt of the probe Job: stream-probe with its password from a file, software decoding, never restarted in place. */
export function streamProbePodTemplate(args: ProbePodArgs): PodTemplateSpec {
    return {
        metadata: { labels: args.labels, annotations: args.annotations },
        spec: {
            // Each attempt a new pod, whose log stays readable after it failed.
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity,
            containers: [
                {
                    name: "probe",
                    image: args.image,
                    imagePullPolicy: "IfNotPresent",
                    env: args.env,
                    resources: {
                        requests: { cpu: "500m", memory: "1Gi" },
                        limits: { cpu: "2", memory: "2Gi" },
                    },
                    securityContext: restrictedContainerSecurity,
                    volumeMounts: [
                        { name: "dshm", mountPath: "/dev/shm" },
                        { name: "tmp", mountPath: "/tmp" },
                        { name: "credentials", mountPath: PROBE_CREDENTIALS_DIR, readOnly: true },
                    ],
                },
            ],
            volumes: [
                {
                    name: "credentials",
                    // Readable by the probe's group (fsGroup) only.
                    secret: { secretName: args.credentialsSecret, items: [{ key: "password", path: "password" }], defaultMode: 0o440 },
                },
                // Chromium shares rendered frames through /dev/shm.
                { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "512Mi" } },
                { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
            ],
        },
    };
}
