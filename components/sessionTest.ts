import { createHash } from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ImagePort } from "../catalog";
import { SessionTestConfig, usesTurn } from "../config/sessionTest";
import { SESSION_UID, restrictedContainerSecurity, restrictedNamespaceLabels, restrictedPodSecurity } from "./podSecurity";
import { sessionNetworkPolicies } from "./sessionNetwork";
import { TURN_PORT, TurnServer } from "./turnServer";
import { DEFAULT_CONTAINER_ANNOTATION, GPU_RESOURCE, WorkloadScheduling } from "./workloadScheduling";

/** The port Selkies serves its web client, signalling and `/health` on when the image names none. */
export const SELKIES_PORT = 8080;

/** Retries of the probe: a pod evicted or a first keyframe lost should not fail a release. */
export const PROBE_BACKOFF_LIMIT = 2;
/** Page load, signalling, ICE and the first keyframe, on top of the measuring window. */
export const PROBE_CONNECT_SECONDS = 120;
/** Scheduling a probe pod and launching Chromium, per attempt. */
export const PROBE_START_SECONDS = 60;
/** Pulling the probe image (Chromium, about 1 GB) onto a node that has never run it. */
export const PROBE_PULL_SECONDS = 300;
/** Where the probe reads the session's password from (a Secret volume). */
export const PROBE_CREDENTIALS_DIR = "/run/secrets/session";
/** The probe's exit status for a configuration it cannot run with: retrying cannot help. */
export const PROBE_BAD_CONFIG_EXIT = 2;

export interface SessionTestArgs {
    /** The session test's section of the stack config (enabled, with a selkies image). */
    config: SessionTestConfig;
    /** The image deployed: its catalog name, ports, and its digest (`repo@sha256:...`). */
    session: { name: string; repoDigest: pulumi.Input<string>; ports: ImagePort[] };
    /** The stream-probe image by digest. */
    probeImage: pulumi.Input<string>;
    /** The coturn image by digest; required when the config turns TURN on. */
    turnImage?: pulumi.Input<string>;
    /** Where GPU workloads go, from the GPU pool (NO_GPU for the `none` provider). */
    scheduling: WorkloadScheduling;
    /** The stack, for the commands in the outputs. */
    stack: string;
    /** The kubeconfig context the program deploys to, for the commands in the outputs. */
    kubeContext?: string;
}

/** Timing of the smoke-test Job, derived from the probe's measuring window (see the constants). */
export function probeTiming(probeSeconds: number) {
    const timeoutSeconds = probeSeconds + PROBE_CONNECT_SECONDS;
    const perAttempt = timeoutSeconds + PROBE_START_SECONDS;
    const activeDeadlineSeconds = (PROBE_BACKOFF_LIMIT + 1) * perAttempt + PROBE_PULL_SECONDS;
    // Pulumi waits a little longer than Kubernetes, so that the Job ends Failed with its reason
    // (DeadlineExceeded) instead of Pulumi giving up on a Job that is still running.
    const pulumiTimeoutSeconds = activeDeadlineSeconds + 120;
    return { timeoutSeconds, activeDeadlineSeconds, pulumiTimeoutSeconds };
}

/** Whole minutes of a Pulumi duration such as 25m, 90s or 1h; 0 when absent or unreadable. */
export function minutesOf(duration: string | undefined): number {
    const match = /^(\d+)([smh])$/.exec(duration ?? "");
    if (!match) return 0;
    const value = Number(match[1]);
    return Math.ceil(match[2] === "h" ? value * 60 : match[2] === "s" ? value / 60 : value);
}

function shortHash(value: unknown): string {
    return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 10);
}

/**
 * A test session of a Selkies image on the GPU pool, gated by a smoke test: `pulumi up` fails
 * unless stream-probe, running in the cluster, receives video frames from it over WebRTC.
 * Everything lives in its own namespace, which admits "restricted" pods only.
 */
export class SessionTest extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;
    /** The smoke test; anything that must only happen after a proven session can depend on it. */
    public readonly smokeTest: k8s.batch.v1.Job;
    public readonly turn?: TurnServer;
    /** The namespace's NetworkPolicies (sessionNetworkPolicies). */
    public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
    /** The session's web client inside the cluster. */
    public readonly sessionUrl: pulumi.Output<string>;
    /** The address a person opens after running the watch commands. */
    public readonly watchUrl: string;
    /** The `kubectl port-forward` commands a person runs to watch the session. */
    public readonly watchCommands: pulumi.Output<string[]>;
    /** Basic-auth user of the web client. */
    public readonly user: string;
    /** Basic-auth password of the web client (a secret). */
    public readonly password: pulumi.Output<string>;
    /** The command that prints the password. */
    public readonly passwordCommand: string;
    /** The image that proved the session streams, by digest. */
    public readonly probeImage: pulumi.Output<string>;
    /** Name of the smoke-test Job, for `kubectl logs job/<name>`. */
    public readonly smokeTestJobName: pulumi.Output<string>;

    constructor(name: string, args: SessionTestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("streamspace:sessionTest:SessionTest", name, {}, opts);
        const { config, scheduling } = args;
        if (usesTurn(config) && args.turnImage === undefined) {
            throw new Error("SessionTest: a WebRTC test session streams through TURN, so args.turnImage (the coturn digest) is required");
        }
        const common = {
            "app.kubernetes.io/part-of": "streamspace-session-test",
            "app.kubernetes.io/managed-by": "pulumi",
        };
        const sessionLabels = { ...common, "app.kubernetes.io/name": args.session.name, "app.kubernetes.io/component": "session" };
        const probeLabels = { ...common, "app.kubernetes.io/name": "stream-probe", "app.kubernetes.io/component": "smoke-test" };

        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: config.namespace, labels: { ...common, ...restrictedNamespaceLabels } } },
            { parent: this },
        );
        this.namespace = namespace.metadata.name;
        const ns = this.namespace;

        // Nothing in or out of the namespace but what the test needs (sessionNetworkPolicies).
        this.networkPolicies = sessionNetworkPolicies({ sessionLabels, probeLabels, allowedPrivateEgress: config.allowedPrivateEgress }).map(
            (policy) =>
                new k8s.networking.v1.NetworkPolicy(
                    `${name}-network-${policy.name}`,
                    { metadata: { name: policy.name, namespace: ns, labels: common }, spec: policy.spec },
                    { parent: this },
                ),
        );

        // Generated once and kept in the stack state, so updates keep the password.
        this.password = pulumi.secret(
            config.password ??
                new random.RandomPassword(`${name}-password`, { length: 24, special: false }, { parent: this }).result,
        );
        this.user = config.user;
        const credentials = new k8s.core.v1.Secret(
            `${name}-credentials`,
            {
                metadata: { name: "session-credentials", namespace: ns, labels: common },
                type: "Opaque",
                stringData: pulumi.secret(pulumi.output(this.password).apply((password) => ({ username: config.user, password }))),
            },
            { parent: this },
        );
        const credential = (key: string): k8s.types.input.core.v1.EnvVarSource => ({
            secretKeyRef: { name: credentials.metadata.name, key },
        });

        if (usesTurn(config)) {
            this.turn = new TurnServer(`${name}-turn`, { namespace: ns, image: args.turnImage!, labels: common, sessionLabels }, { parent: this });
        }

        const ports = args.session.ports.length > 0 ? args.session.ports : [{ name: "selkies", port: SELKIES_PORT, protocol: "TCP" as const }];
        const webPort = ports.find((p) => p.name === "selkies") ?? ports[0];

        const env: k8s.types.input.core.v1.EnvVar[] = [
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
            { name: "SELKIES_BASIC_AUTH_USER", valueFrom: credential("username") },
            { name: "SELKIES_BASIC_AUTH_PASSWORD", valueFrom: credential("password") },
            { name: "VNC_PASSWORD", valueFrom: credential("password") },
        ];
        if (scheduling.gpuLimit) {
            // video: NVENC; graphics: EGL/GLX for the desktop and the browser's GPU process.
            env.push({ name: "NVIDIA_DRIVER_CAPABILITIES", value: "compute,utility,video,graphics" });
        }
        if (this.turn) {
            const turnSecret = this.turn.secretName;
            // The relay runs in the session pod: 127.0.0.1 is the relay for Selkies, and for the
            // browser of a person watching, through a port-forward on its own machine. In the probe's
            // pod that address leads nowhere, which is harmless: the session and the probe reach each
            // other directly.
            env.push(
                { name: "SELKIES_TURN_HOST", value: "127.0.0.1" },
                { name: "SELKIES_TURN_PORT", value: String(TURN_PORT) },
                { name: "SELKIES_TURN_PROTOCOL", value: "tcp" },
                { name: "SELKIES_TURN_USERNAME", valueFrom: { secretKeyRef: { name: turnSecret, key: "username" } } },
                { name: "SELKIES_TURN_PASSWORD", valueFrom: { secretKeyRef: { name: turnSecret, key: "password" } } },
            );
        }

        const health = { httpGet: { path: "/health", port: webPort.name } };
        const limits: Record<string, string> = { cpu: config.resources.cpuLimit, memory: config.resources.memoryLimit };
        if (scheduling.gpuLimit) limits[GPU_RESOURCE] = "1";

        const sessionPod: k8s.types.input.core.v1.PodTemplateSpec = {
            // kubectl logs/exec default to the session rather than the relay beside it.
            metadata: { labels: sessionLabels, annotations: { [DEFAULT_CONTAINER_ANNOTATION]: "session" } },
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
                        image: args.session.repoDigest,
                        imagePullPolicy: "IfNotPresent",
                        env,
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
                    ...(this.turn ? [this.turn.container] : []),
                ],
                volumes: [
                    { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: config.shmSize } },
                    // StreamSpace mounts the user's home at /config; the test starts from an empty one.
                    { name: "home", emptyDir: {} },
                    ...(this.turn ? [this.turn.volume] : []),
                ],
            },
        };

        // Waiting for Available includes a GPU node scaling up from zero (up to ~15 minutes) and
        // the first pull of a multi-gigabyte image: the stack's timeout, or the pool's own
        // readiness estimate where that is longer, covers both.
        const timeoutMinutes = Math.max(config.timeoutMinutes, minutesOf(scheduling.readyTimeout));
        const sessionTimeouts = { create: `${timeoutMinutes}m`, update: `${timeoutMinutes}m` };
        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-session`,
            {
                metadata: { name: "session", namespace: ns, labels: sessionLabels },
                spec: {
                    replicas: 1,
                    // One GPU cannot host the old and the new pod of a rolling update at once.
                    strategy: { type: "Recreate" },
                    revisionHistoryLimit: 3,
                    selector: { matchLabels: sessionLabels },
                    template: sessionPod,
                },
            },
            { parent: this, customTimeouts: sessionTimeouts },
        );

        this.service = new k8s.core.v1.Service(
            `${name}-session`,
            {
                metadata: { name: "session", namespace: ns, labels: sessionLabels },
                spec: {
                    type: "ClusterIP",
                    selector: sessionLabels,
                    ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: p.protocol })),
                },
            },
            { parent: this, customTimeouts: sessionTimeouts },
        );

        this.sessionUrl = pulumi.interpolate`http://${this.service.metadata.name}.${ns}.svc.cluster.local:${webPort.port}/`;

        // The smoke test.
        const timing = probeTiming(config.probe.seconds);
        const probeEnv: k8s.types.input.core.v1.EnvVar[] = [
            { name: "PROBE_URL", value: this.sessionUrl },
            { name: "PROBE_USER", valueFrom: credential("username") },
            // A file from the Secret rather than a variable: no process environment ever holds it.
            { name: "PROBE_PASSWORD_FILE", value: `${PROBE_CREDENTIALS_DIR}/password` },
            { name: "PROBE_SECONDS", value: String(config.probe.seconds) },
            { name: "PROBE_MIN_FPS", value: String(config.probe.minFps) },
            { name: "PROBE_EXPECT_WIDTH", value: String(config.display.width) },
            { name: "PROBE_EXPECT_HEIGHT", value: String(config.display.height) },
            { name: "PROBE_TIMEOUT_SECONDS", value: String(timing.timeoutSeconds) },
            { name: "PROBE_SCREENSHOT", value: "/tmp/stream-probe.png" },
            // The probe reaches the session over plain HTTP on the cluster network; Selkies'
            // WebSockets client needs a secure context, which this origin is then treated as.
            { name: "PROBE_TREAT_AS_SECURE", value: "true" },
        ];
        // Only when asked: the Job of a stack that does not ask keeps its name, so it is not rerun.
        if (config.probe.screenshotLog) probeEnv.push({ name: "PROBE_SCREENSHOT_LOG", value: "true" });
        // The probed digests and the whole session pod sit in the Job's (immutable) pod template,
        // and its name is derived from them: a new image or any change of the session yields a new
        // Job, created before the old one is deleted, so each release is proven by its own run.
        // A name known from the inputs alone (no random suffix) keeps `pulumi up` repeatable and
        // lets the outputs name the Job for `kubectl logs`.
        const probePod = pulumi
            .all([
                pulumi.output(args.session.repoDigest),
                pulumi.output(args.probeImage),
                pulumi.output(sessionPod),
                pulumi.output(probeEnv),
                credentials.metadata.name,
            ])
            .apply(([sessionDigest, probeDigest, resolvedSessionPod, resolvedProbeEnv, credentialsName]): k8s.types.input.core.v1.PodTemplateSpec => ({
                metadata: {
                    labels: probeLabels,
                    annotations: {
                        "streamspace.io/probed-image": sessionDigest,
                        "streamspace.io/probed-session-spec": shortHash(resolvedSessionPod),
                    },
                },
                spec: {
                    // Each attempt a new pod, whose log stays readable after it failed.
                    restartPolicy: "Never",
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    securityContext: restrictedPodSecurity,
                    containers: [
                        {
                            name: "probe",
                            image: probeDigest,
                            imagePullPolicy: "IfNotPresent",
                            env: resolvedProbeEnv,
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
                            secret: { secretName: credentialsName, items: [{ key: "password", path: "password" }], defaultMode: 0o440 },
                        },
                        // Chromium shares rendered frames through /dev/shm.
                        { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "512Mi" } },
                        { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
                    ],
                },
            }));
        this.smokeTest = new k8s.batch.v1.Job(
            `${name}-probe`,
            {
                metadata: {
                    name: probePod.apply((pod) => `stream-probe-${shortHash(pod)}`),
                    namespace: ns,
                    labels: probeLabels,
                },
                spec: {
                    backoffLimit: PROBE_BACKOFF_LIMIT,
                    // Attempts x (probe timeout + start) + first pull; see probeTiming.
                    activeDeadlineSeconds: timing.activeDeadlineSeconds,
                    podFailurePolicy: {
                        rules: [
                            // Bad probe configuration fails at once; a drained node does not count.
                            { action: "FailJob", onExitCodes: { containerName: "probe", operator: "In", values: [PROBE_BAD_CONFIG_EXIT] } },
                            { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
                        ],
                    },
                    // No ttlSecondsAfterFinished: a Job Kubernetes deletes by itself would show as drift.
                    template: probePod,
                },
            },
            {
                parent: this,
                // After the Deployment is Available and the Service has a ready endpoint, and under
                // the namespace's NetworkPolicies: the probe proves the session streams with them.
                dependsOn: [this.deployment, this.service, ...this.networkPolicies],
                customTimeouts: { create: `${timing.pulumiTimeoutSeconds}s`, update: `${timing.pulumiTimeoutSeconds}s` },
            },
        );
        this.smokeTestJobName = this.smokeTest.metadata.name;
        this.probeImage = pulumi.output(args.probeImage);

        // What a person runs to watch the session.
        const kubectl = pulumi.interpolate`kubectl${args.kubeContext ? ` --context ${args.kubeContext}` : ""} --namespace ${ns}`;
        this.watchUrl = `http://127.0.0.1:${webPort.port}/`;
        this.watchCommands = pulumi
            .all([kubectl, this.service.metadata.name, this.turn ? this.turn.serviceName : pulumi.output(undefined)])
            .apply(([k, session, turn]) => [
                `${k} port-forward service/${session} ${webPort.port}:${webPort.port}`,
                ...(turn ? [`${k} port-forward service/${turn} ${TURN_PORT}:${TURN_PORT}`] : []),
            ]);
        this.passwordCommand = `pulumi stack output sessionPassword --show-secrets --stack ${args.stack}`;

        this.registerOutputs({
            sessionUrl: this.sessionUrl,
            watchCommands: this.watchCommands,
            probeImage: this.probeImage,
            smokeTestJobName: this.smokeTestJobName,
        });
    }
}
