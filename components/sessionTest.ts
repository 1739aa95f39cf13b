import { createHash } from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ImagePort } from "../catalog";
import { SessionTestConfig, usesTurn } from "../config/sessionTest";
import { restrictedNamespaceLabels } from "./podSecurity";
import { sessionNetworkPolicies } from "./sessionNetwork";
import { probeEnv, sessionEnv, sessionPodTemplate, sessionPorts, streamProbePodTemplate } from "./sessionTestManifests";
import { TurnServer, turnPort } from "./turnServer";
import { WorkloadScheduling } from "./workloadScheduling";

/** Retries of the probe: a pod evicted or a first keyframe lost should not fail a release. */
export const PROBE_BACKOFF_LIMIT = 2;
/** Page load, signalling, ICE and the first keyframe, on top of the measuring window. */
export const PROBE_CONNECT_SECONDS = 120;
/** Scheduling a probe pod and launching Chromium, per attempt. */
export const PROBE_START_SECONDS = 60;
/** Pulling the probe image (Chromium, about 1 GB) onto a node that has never run it. */
export const PROBE_PULL_SECONDS = 300;
/** The probe's exit status for a configuration it cannot run with: retrying cannot help. */
export const PROBE_BAD_CONFIG_EXIT = 2;

export interface SessionTestArgs {
    /** The session test's section of the stack config (enabled, with a selkies image). */
    config: SessionTestConfig;
    /** The image deployed: its catalog name, ports, and its digest (`repo@sha256:...`). */
    session: { name: string; repoDigest: pulumi.Input<string>; ports: ImagePort[] };
    /** The stream-probe image by digest. */
    probeImage: pulumi.Input<string>;
    /** The coturn image by digest and its ports (from its metadata); required when the config turns TURN on. */
    turn?: { image: pulumi.Input<string>; ports: ImagePort[] };
    /** Where GPU workloads go, from the GPU pool (NO_GPU for the `none` provider). */
    scheduling: WorkloadScheduling;
    /** The stack, for the commands in the outputs. */
    stack: string;
    /** The kubeconfig context the program deploys to, for the commands in the outputs. */
    kubeContext?: string;
}

/** Timing of the probe Job, derived from the probe's measuring window (see the constants). */
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
 * A test session of a Selkies image on the GPU pool, gated by its probe Job: `pulumi up` fails
 * unless stream-probe, running in the cluster, receives video frames from it over WebRTC.
 * Everything lives in its own namespace, which admits "restricted" pods only.
 */
export class SessionTest extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;
    /** The probe Job; anything that must only happen after a proven session can depend on it. */
    public readonly probeJob: k8s.batch.v1.Job;
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
    /** Name of the probe Job, for `kubectl logs job/<name>`. */
    public readonly probeJobName: pulumi.Output<string>;

    constructor(name: string, args: SessionTestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("streamspace:sessionTest:SessionTest", name, {}, opts);
        const { config } = args;
        if (usesTurn(config) && args.turn === undefined) {
            throw new Error("SessionTest: a WebRTC test session streams through TURN, so args.turn (the coturn digest and ports) is required");
        }
        const labels = sessionTestLabels(args.session.name);

        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: config.namespace, labels: { ...labels.common, ...restrictedNamespaceLabels } } },
            { parent: this },
        );
        this.namespace = namespace.metadata.name;
        // Nothing in or out of the namespace but what the test needs (sessionNetworkPolicies).
        this.networkPolicies = sessionNetworkPolicies({
            sessionLabels: labels.session,
            probeLabels: labels.probe,
            allowedPrivateEgress: config.allowedPrivateEgress,
        }).map(
            (policy) =>
                new k8s.networking.v1.NetworkPolicy(
                    `${name}-network-${policy.name}`,
                    { metadata: { name: policy.name, namespace: this.namespace, labels: labels.common }, spec: policy.spec },
                    { parent: this },
                ),
        );

        // Generated once and kept in the stack state, so updates keep the password.
        this.password = pulumi.secret(
            config.password ?? new random.RandomPassword(`${name}-password`, { length: 24, special: false }, { parent: this }).result,
        );
        this.user = config.user;
        const credentials = new k8s.core.v1.Secret(
            `${name}-credentials`,
            {
                metadata: { name: "session-credentials", namespace: this.namespace, labels: labels.common },
                type: "Opaque",
                stringData: pulumi.secret(pulumi.output(this.password).apply((password) => ({ username: config.user, password }))),
            },
            { parent: this },
        );
        if (usesTurn(config)) {
            this.turn = new TurnServer(
                `${name}-turn`,
                { namespace: this.namespace, image: args.turn!.image, port: turnPort(args.turn!.ports), labels: labels.common, sessionLabels: labels.session },
                { parent: this },
            );
        }

        const session = this.createSession(name, args, labels.session, credentials.metadata.name);
        this.deployment = session.deployment;
        this.service = session.service;
        this.sessionUrl = pulumi.interpolate`http://${this.service.metadata.name}.${this.namespace}.svc.cluster.local:${session.webPort.port}/`;
        this.probeJob = this.createProbeJob(name, args, labels.probe, session.pod, credentials.metadata.name);
        this.probeJobName = this.probeJob.metadata.name;
        this.probeImage = pulumi.output(args.probeImage);

        // What a person runs to watch the session.
        const webPort = session.webPort.port;
        const kubectl = pulumi.interpolate`kubectl${args.kubeContext ? ` --context ${args.kubeContext}` : ""} --namespace ${this.namespace}`;
        this.watchUrl = `http://127.0.0.1:${webPort}/`;
        this.watchCommands = pulumi
            .all([kubectl, this.service.metadata.name, this.turn ? this.turn.serviceName : pulumi.output(undefined)])
            .apply(([k, service, turn]) => [
                `${k} port-forward service/${service} ${webPort}:${webPort}`,
                ...(turn ? [`${k} port-forward service/${turn} ${this.turn!.port}:${this.turn!.port}`] : []),
            ]);
        this.passwordCommand = `pulumi stack output sessionPassword --show-secrets --stack ${args.stack}`;

        this.registerOutputs({
            sessionUrl: this.sessionUrl,
            watchCommands: this.watchCommands,
            probeImage: this.probeImage,
            probeJobName: this.probeJobName,
        });
    }

    /** The session's Deployment and Service, and the pod template the probe Job is named after. */
    private createSession(name: string, args: SessionTestArgs, labels: Record<string, string>, credentialsSecret: pulumi.Output<string>) {
        const { config, scheduling } = args;
        const { ports, web: webPort } = sessionPorts(args.session.ports);
        const pod = sessionPodTemplate({
            config,
            scheduling,
            labels,
            image: args.session.repoDigest,
            ports,
            env: sessionEnv({ config, scheduling, credentialsSecret, turnSecret: this.turn?.secretName, turnPort: this.turn?.port }),
            sidecars: this.turn ? { containers: [this.turn.container], volumes: [this.turn.volume] } : undefined,
        });
        // Waiting for Available includes a GPU node scaling up from zero (up to ~15 minutes) and
        // the first pull of a multi-gigabyte image: the stack's timeout, or the pool's own
        // readiness estimate where that is longer, covers both.
        const timeoutMinutes = Math.max(config.timeoutMinutes, minutesOf(scheduling.readyTimeout));
        const customTimeouts = { create: `${timeoutMinutes}m`, update: `${timeoutMinutes}m` };
        const metadata = { name: "session", namespace: this.namespace, labels };
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-session`,
            {
                metadata,
                spec: {
                    replicas: 1,
                    // One GPU cannot host the old and the new pod of a rolling update at once.
                    strategy: { type: "Recreate" },
                    revisionHistoryLimit: 3,
                    selector: { matchLabels: labels },
                    template: pod,
                },
            },
            { parent: this, customTimeouts },
        );
        const service = new k8s.core.v1.Service(
            `${name}-session`,
            {
                metadata,
                spec: {
                    type: "ClusterIP",
                    selector: labels,
                    ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: p.protocol })),
                },
            },
            { parent: this, customTimeouts },
        );
        return { deployment, service, pod, webPort };
    }

    /**
     * The probe Job. The probed digests and the whole session pod sit in its (immutable) pod
     * template, and its name is derived from them: a new image or any change of the session yields
     * a new Job, created before the old one is deleted, so each release is proven by its own run. A
     * name known from the inputs alone (no random suffix) keeps `pulumi up` repeatable and lets the
     * outputs name the Job for `kubectl logs`.
     */
    private createProbeJob(
        name: string,
        args: SessionTestArgs,
        labels: Record<string, string>,
        sessionPod: k8s.types.input.core.v1.PodTemplateSpec,
        credentialsSecret: pulumi.Output<string>,
    ): k8s.batch.v1.Job {
        const { config } = args;
        const timing = probeTiming(config.probe.seconds);
        const probePod = pulumi
            .all([pulumi.output(args.session.repoDigest), pulumi.output(args.probeImage), pulumi.output(sessionPod), this.sessionUrl, credentialsSecret])
            .apply(([sessionDigest, probeDigest, resolvedSessionPod, sessionUrl, credentials]) =>
                streamProbePodTemplate({
                    labels,
                    annotations: {
                        "streamspace.io/probed-image": sessionDigest,
                        "streamspace.io/probed-session-spec": shortHash(resolvedSessionPod),
                    },
                    image: probeDigest,
                    env: probeEnv({ config, sessionUrl, credentialsSecret: credentials, timeoutSeconds: timing.timeoutSeconds }),
                    credentialsSecret: credentials,
                }),
            );
        return new k8s.batch.v1.Job(
            `${name}-probe`,
            {
                metadata: { name: probePod.apply((pod) => `stream-probe-${shortHash(pod)}`), namespace: this.namespace, labels },
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
    }
}

/** The labels of the session test's objects: shared ones, the session's and the probe's. */
export function sessionTestLabels(image: string) {
    const common = {
        "app.kubernetes.io/part-of": "streamspace-session-test",
        "app.kubernetes.io/managed-by": "pulumi",
    };
    return {
        common,
        session: { ...common, "app.kubernetes.io/name": image, "app.kubernetes.io/component": "session" },
        probe: { ...common, "app.kubernetes.io/name": "stream-probe", "app.kubernetes.io/component": "probe" },
    };
}
