import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { Namespace, Secret, Service } from "kubernetes-models/v1";
import { parseStackConfig } from "../../config";
import { SessionTestConfig } from "../../config/sessionTest";
import { PROBE_BACKOFF_LIMIT, SessionTest, SessionTestArgs, probeTiming } from "../../components/sessionTest";
import { NO_GPU, WorkloadScheduling } from "../../components/workloadScheduling";
import { turnPort } from "../../components/turnServer";
import { loadCatalog } from "../../catalog";
import { PROJECT, ProgramRun, RegisteredResource, byType, one, runProgram, unwrapSecrets, valueOf } from "../harness";

const SESSION_DIGEST = "ghcr.io/acme/chrome-selkies@sha256:" + "a".repeat(64);
const PROBE_DIGEST = "ghcr.io/acme/stream-probe@sha256:" + "b".repeat(64);
const TURN_DIGEST = "ghcr.io/acme/coturn@sha256:" + "c".repeat(64);
/** The relay's ports as images/coturn/image.yaml names them. */
const TURN_PORTS = [
    { name: "turn-tcp", port: 3478, protocol: "TCP" as const },
    { name: "turn-udp", port: 3478, protocol: "UDP" as const },
];
const CHROME_PORTS = [
    { name: "selkies", port: 8080, protocol: "TCP" as const },
    { name: "vnc", port: 5900, protocol: "TCP" as const },
    { name: "novnc", port: 6080, protocol: "TCP" as const },
];
const GPU: WorkloadScheduling = {
    nodeSelector: { "streamspace.io/node-type": "gpu" },
    tolerations: [{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }],
    requestsGpu: true,
    runtimeClassName: "nvidia",
};

function sessionConfig(overrides: Record<string, string> = {}): SessionTestConfig {
    const raw: Record<string, string> = { registryServer: "localhost:5001" };
    for (const [k, v] of Object.entries(overrides)) raw[k] = v;
    return parseStackConfig(raw, { stack: "dev", imageNames: ["selkies-base", "chrome-selkies", "stream-probe", "coturn"] }).sessionTest;
}

interface Built {
    resources: RegisteredResource[];
    component: SessionTest;
    /** The resource options each child was registered with (dependsOn, customTimeouts), by name. */
    options: Map<string, pulumi.CustomResourceOptions>;
    get(type: string, name: string): RegisteredResource;
    all(type: string): RegisteredResource[];
}

/** Constructs a SessionTest under Pulumi mocks and returns what it registered, once everything resolved. */
async function build(args: Partial<SessionTestArgs> & { config?: SessionTestConfig } = {}): Promise<Built> {
    const resources: RegisteredResource[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (a: pulumi.runtime.MockResourceArgs) => {
                const secretPaths: string[] = [];
                const inputs = unwrapSecrets(a.inputs, "", secretPaths);
                resources.push({ type: a.type, name: a.name, inputs, secretPaths, provider: a.provider });
                const state =
                    a.type === "random:index/randomPassword:RandomPassword"
                        ? { ...inputs, result: `test-double-password-${a.name}` }
                        : { ...inputs, metadata: { name: a.name, ...(inputs.metadata ?? {}) } };
                return { id: `${a.name}-id`, state };
            },
            call: (a: pulumi.runtime.MockCallArgs) => a.inputs,
        },
        PROJECT,
        "dev",
        false,
    );
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const record: pulumi.ResourceTransformation = (t) => {
        if (t.type.startsWith("kubernetes:")) options.set(t.name, t.opts as pulumi.CustomResourceOptions);
        return undefined;
    };
    const component = new SessionTest("session-test", {
        config: args.config ?? sessionConfig(),
        session: args.session ?? { name: "chrome-selkies", repoDigest: SESSION_DIGEST, ports: CHROME_PORTS },
        probeImage: args.probeImage ?? PROBE_DIGEST,
        turn: "turn" in args ? args.turn : { image: TURN_DIGEST, ports: TURN_PORTS },
        scheduling: args.scheduling ?? NO_GPU,
        stack: args.stack ?? "dev",
        kubeContext: args.kubeContext,
    }, { transformations: [record] });
    await valueOf(component.watchCommands);
    await valueOf(component.probeJobName);
    await valueOf(component.password);
    await new Promise((r) => setTimeout(r, 10));
    const all = (type: string) => resources.filter((r) => r.type === type);
    const get = (type: string, name: string) => {
        const found = resources.filter((r) => r.type === type && r.name === name);
        assert.equal(found.length, 1, `expected one ${type} named ${name}, found ${found.length}`);
        return found[0];
    };
    return { resources, component, options, get, all };
}

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";
const SECRET = "kubernetes:core/v1:Secret";
const JOB = "kubernetes:batch/v1:Job";
const NAMESPACE = "kubernetes:core/v1:Namespace";

function envOf(container: any): Record<string, any> {
    return Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

function assertRestricted(pod: any, what: string) {
    assert.equal(pod.securityContext.runAsNonRoot, true, `${what}: runAsNonRoot`);
    assert.equal(pod.securityContext.runAsUser, 1000, `${what}: uid`);
    assert.equal(pod.securityContext.runAsGroup, 1000, `${what}: gid`);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: "RuntimeDefault" }, `${what}: seccomp`);
    assert.equal(pod.automountServiceAccountToken, false, `${what}: a service account token is mounted`);
    for (const c of pod.containers) {
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, `${what}/${c.name}: privilege escalation`);
        assert.equal(c.securityContext.privileged, false, `${what}/${c.name}: privileged`);
        assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] }, `${what}/${c.name}: capabilities`);
        assert.equal(c.securityContext.runAsNonRoot, true, `${what}/${c.name}: runAsNonRoot`);
        assert.match(c.image, /@sha256:[0-9a-f]{64}$/, `${what}/${c.name}: image not pinned by digest`);
    }
    for (const v of pod.volumes ?? []) {
        assert.equal(v.hostPath, undefined, `${what}: hostPath volume ${v.name}`);
    }
}

describe("SessionTest", () => {
    describe("resources without a GPU (provider none)", () => {
        let b: Built;
        before(async () => {
            b = await build();
        });

        it("creates its own namespace, which admits restricted pods only", () => {
            const ns = b.get(NAMESPACE, "session-test-namespace");
            assert.equal(ns.inputs.metadata.name, "streamspace-session-test");
            assert.equal(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
            new Namespace({ ...ns.inputs } as any).validate();
        });

        it("registers exactly the namespace, its network policies, credentials, session, service and probe Job (no relay over WebSockets)", () => {
            assert.deepEqual(
                b.resources.map((r) => `${r.type} ${r.name}`).sort(),
                [
                    `${NAMESPACE} session-test-namespace`,
                    "random:index/randomPassword:RandomPassword session-test-password",
                    `${SECRET} session-test-credentials`,
                    `${DEPLOYMENT} session-test-session`,
                    `${SERVICE} session-test-session`,
                    `${JOB} session-test-probe`,
                    "kubernetes:networking.k8s.io/v1:NetworkPolicy session-test-network-default-deny",
                    "kubernetes:networking.k8s.io/v1:NetworkPolicy session-test-network-session",
                    "kubernetes:networking.k8s.io/v1:NetworkPolicy session-test-network-probe",
                    "streamspace:sessionTest:SessionTest session-test",
                ].sort(),
            );
        });

        it("keeps the generated password in a Secret, as a secret, and never in a pod spec", () => {
            const secret = b.get(SECRET, "session-test-credentials");
            assert.deepEqual(secret.inputs.stringData, { username: "user", password: "test-double-password-session-test-password" });
            assert.ok(secret.secretPaths.some((p) => p.startsWith("stringData")), "stringData is not a Pulumi secret");
            new Secret({ apiVersion: "v1", kind: "Secret", ...secret.inputs } as any).validate();
            for (const r of b.all(DEPLOYMENT).concat(b.all(JOB))) {
                assert.doesNotMatch(JSON.stringify(r.inputs), /test-double-password/, `${r.name} holds a password in plain text`);
            }
        });

        it("runs the session by digest with the standard environment and Selkies' automatic encoder", () => {
            const spec = b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.spec;
            const [c] = spec.containers;
            assert.equal(c.image, SESSION_DIGEST);
            const env = envOf(c);
            assert.equal(env.DISPLAY_WIDTH, "1920");
            assert.equal(env.DISPLAY_HEIGHT, "1080");
            assert.equal(env.DISPLAY_DPI, "96");
            assert.equal(env.PUID, "1000");
            assert.equal(env.PGID, "1000");
            assert.equal(env.TZ, "UTC");
            assert.equal(env.SELKIES_ENCODER, "auto");
            assert.equal(env.SELKIES_ENABLE_BASIC_AUTH, "true");
            assert.deepEqual(env.SELKIES_BASIC_AUTH_PASSWORD, { secretKeyRef: { name: "session-credentials", key: "password" } });
            assert.deepEqual(env.VNC_PASSWORD, { secretKeyRef: { name: "session-credentials", key: "password" } });
            assert.deepEqual(env.SELKIES_BASIC_AUTH_USER, { secretKeyRef: { name: "session-credentials", key: "username" } });
            assert.equal(env.NVIDIA_DRIVER_CAPABILITIES, undefined, "GPU settings on a pool without GPUs");
        });

        it("is restricted: non-root 1000:1000, no escalation, no capabilities, RuntimeDefault seccomp", () => {
            assertRestricted(b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.spec, "session");
        });

        it("has no GPU limit, node selector or tolerations on the none provider", () => {
            const spec = b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.spec;
            assert.deepEqual(spec.nodeSelector, {});
            assert.deepEqual(spec.tolerations, []);
            assert.equal(spec.runtimeClassName, undefined);
            assert.equal(spec.containers[0].resources.limits["nvidia.com/gpu"], undefined);
        });

        it("sizes /dev/shm as a memory emptyDir and takes requests and limits from config", () => {
            const spec = b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.spec;
            const shm = spec.volumes.find((v: any) => v.name === "dshm");
            assert.deepEqual(shm.emptyDir, { medium: "Memory", sizeLimit: "2Gi" });
            assert.ok(spec.containers[0].volumeMounts.some((m: any) => m.name === "dshm" && m.mountPath === "/dev/shm"));
            assert.deepEqual(spec.containers[0].resources, {
                requests: { cpu: "1", memory: "2Gi" },
                limits: { cpu: "4", memory: "8Gi" },
            });
        });

        it("probes /health for startup, readiness and liveness, recreates on update and stops gracefully", () => {
            const deployment = b.get(DEPLOYMENT, "session-test-session").inputs;
            const [c] = deployment.spec.template.spec.containers;
            for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
                assert.deepEqual(c[probe].httpGet, { path: "/health", port: "selkies" }, probe);
            }
            assert.ok(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold >= 120, "the session gets too little time to start");
            assert.deepEqual(deployment.spec.strategy, { type: "Recreate" });
            assert.equal(deployment.spec.replicas, 1);
            assert.ok(deployment.spec.template.spec.terminationGracePeriodSeconds >= 30);
            new Deployment({ apiVersion: "apps/v1", kind: "Deployment", ...deployment } as any).validate();
        });

        it("exposes 8080, 5900 and 6080 on a ClusterIP Service", () => {
            const svc = b.get(SERVICE, "session-test-session").inputs;
            assert.equal(svc.spec.type, "ClusterIP");
            assert.deepEqual(svc.spec.ports.map((p: any) => p.port), [8080, 5900, 6080]);
            const podLabels = b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.metadata.labels;
            for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(podLabels[k], v, `selector ${k} matches no pod`);
            new Service({ apiVersion: "v1", kind: "Service", ...svc } as any).validate();
        });
    });

    describe("on a GPU pool", () => {
        it("requests one GPU and lands on the pool's nodes with its selector, tolerations and runtime class", async () => {
            const b = await build({ scheduling: GPU });
            const spec = b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.spec;
            assert.equal(spec.containers[0].resources.limits["nvidia.com/gpu"], "1");
            assert.deepEqual(spec.nodeSelector, GPU.nodeSelector);
            assert.deepEqual(spec.tolerations, GPU.tolerations);
            assert.equal(spec.runtimeClassName, "nvidia");
            assert.match(envOf(spec.containers[0]).NVIDIA_DRIVER_CAPABILITIES, /video/);
            assert.match(envOf(spec.containers[0]).NVIDIA_DRIVER_CAPABILITIES, /graphics/);
            // The probe decodes in software: it never takes a GPU node.
            const probe = b.get(JOB, "session-test-probe").inputs.spec.template.spec;
            assert.equal(probe.nodeSelector, undefined);
            assert.equal(probe.containers[0].resources.limits["nvidia.com/gpu"], undefined);
            new Deployment({ apiVersion: "apps/v1", kind: "Deployment", ...b.get(DEPLOYMENT, "session-test-session").inputs } as any).validate();
        });
    });

    describe("network policies", () => {
        it("close the namespace but for what the test needs, with the stack's allowed private ranges", async () => {
            const b = await build({ config: sessionConfig({ sessionTestAllowedPrivateEgress: JSON.stringify(["10.20.0.0/16"]) }) });
            const policies = b.all("kubernetes:networking.k8s.io/v1:NetworkPolicy");
            assert.deepEqual(policies.map((p) => [p.name, p.inputs.metadata.name, p.inputs.metadata.namespace]).sort(), [
                ["session-test-network-default-deny", "default-deny", "streamspace-session-test"],
                ["session-test-network-probe", "probe", "streamspace-session-test"],
                ["session-test-network-session", "session", "streamspace-session-test"],
            ]);
            const sessionEgress = b.get("kubernetes:networking.k8s.io/v1:NetworkPolicy", "session-test-network-session").inputs.spec.egress;
            assert.deepEqual(sessionEgress[2].to.slice(2), [{ ipBlock: { cidr: "10.20.0.0/16" } }]);
            const sessionPod = b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.metadata.labels;
            assert.deepEqual(sessionEgress[0].to, [{ podSelector: { matchLabels: b.get(JOB, "session-test-probe").inputs.spec.template.metadata.labels } }]);
            assert.deepEqual(
                b.get("kubernetes:networking.k8s.io/v1:NetworkPolicy", "session-test-network-probe").inputs.spec.egress[0].to,
                [{ podSelector: { matchLabels: sessionPod } }],
            );
        });
    });

    describe("TURN relay", () => {
        it("WebRTC: coturn by digest in the session pod, with a generated credential from a Secret, wired into Selkies' TURN settings", async () => {
            const b = await build({ config: sessionConfig({ sessionTestTransport: "webrtc" }) });
            const secret = b.get(SECRET, "session-test-turn-credentials");
            assert.deepEqual(secret.inputs.stringData, { username: "streamspace", password: "test-double-password-session-test-turn-password" });
            assert.ok(secret.secretPaths.some((p) => p.startsWith("stringData")));

            // One Deployment: the relay is a container of the session pod, not a pod of its own.
            assert.deepEqual(b.all(DEPLOYMENT).map((d) => d.name), ["session-test-session"]);
            const session = b.get(DEPLOYMENT, "session-test-session").inputs;
            const pod = session.spec.template.spec;
            assert.deepEqual(pod.containers.map((c: any) => c.name), ["session", "turn"]);
            const relay = pod.containers[1];
            assert.equal(relay.image, TURN_DIGEST);
            assertRestricted(pod, "session");
            assert.equal(relay.securityContext.readOnlyRootFilesystem, true);
            assert.deepEqual(relay.volumeMounts, [{ name: "turn-tmp", mountPath: "/tmp" }]);
            assert.ok(pod.volumes.some((v: any) => v.name === "turn-tmp" && v.emptyDir), "no scratch volume for the relay");
            const turnEnv = envOf(relay);
            assert.deepEqual(turnEnv.TURN_PASSWORD, { secretKeyRef: { name: "turn-credentials", key: "password" } });
            assert.deepEqual(turnEnv.TURN_USERNAME, { secretKeyRef: { name: "turn-credentials", key: "username" } });
            // The relay reaches the session pod's own addresses and nothing else.
            assert.deepEqual(turnEnv.TURN_ALLOWED_PEER_IPS, { fieldRef: { fieldPath: "status.podIPs" } });
            assert.deepEqual(turnEnv.TURN_RELAY_IP, { fieldRef: { fieldPath: "status.podIPs" } });
            new Deployment({ apiVersion: "apps/v1", kind: "Deployment", ...session } as any).validate();

            const svc = b.get(SERVICE, "session-test-turn").inputs;
            assert.deepEqual(svc.spec.selector, session.spec.selector.matchLabels, "the relay's Service does not lead to the session pod");
            assert.ok(svc.spec.ports.some((p: any) => p.port === 3478 && p.protocol === "TCP"), "no TCP 3478 to port-forward");

            const env = envOf(pod.containers[0]);
            assert.equal(env.SELKIES_MODE, "webrtc");
            assert.equal(env.SELKIES_TURN_HOST, "127.0.0.1");
            assert.equal(env.SELKIES_TURN_PORT, "3478");
            assert.equal(env.SELKIES_TURN_PROTOCOL, "tcp");
            assert.deepEqual(env.SELKIES_TURN_PASSWORD, { secretKeyRef: { name: "turn-credentials", key: "password" } });
            assert.deepEqual(env.SELKIES_TURN_USERNAME, { secretKeyRef: { name: "turn-credentials", key: "username" } });

            assert.deepEqual(await valueOf(b.component.watchCommands), [
                "kubectl --namespace streamspace-session-test port-forward service/session 8080:8080",
                "kubectl --namespace streamspace-session-test port-forward service/turn 3478:3478",
            ]);
        });

        it("WebSockets (the default): no relay, no TURN settings, and only the web client to forward", async () => {
            const b = await build({ config: sessionConfig(), turn: undefined });
            assert.equal(b.all("streamspace:sessionTest:TurnServer").length, 0);
            assert.equal(b.all(DEPLOYMENT).length, 1);
            assert.deepEqual(b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.spec.containers.map((c: any) => c.name), ["session"]);
            const env = envOf(b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.spec.containers[0]);
            assert.equal(env.SELKIES_MODE, "websockets");
            assert.equal(Object.keys(env).filter((k) => k.startsWith("SELKIES_TURN")).length, 0);
            assert.deepEqual(await valueOf(b.component.watchCommands), [
                "kubectl --namespace streamspace-session-test port-forward service/session 8080:8080",
            ]);
        });

        it("takes the relay's port from the coturn image's metadata, everywhere it is used", async () => {
            const ports = TURN_PORTS.map((p) => ({ ...p, port: 3479 }));
            const b = await build({ config: sessionConfig({ sessionTestTransport: "webrtc" }), turn: { image: TURN_DIGEST, ports } });
            const pod = b.get(DEPLOYMENT, "session-test-session").inputs.spec.template.spec;
            assert.equal(envOf(pod.containers[1]).TURN_PORT, "3479");
            assert.deepEqual(pod.containers[1].ports.map((p: any) => p.containerPort), [3479, 3479]);
            assert.equal(envOf(pod.containers[0]).SELKIES_TURN_PORT, "3479");
            assert.deepEqual(b.get(SERVICE, "session-test-turn").inputs.spec.ports.map((p: any) => p.port), [3479, 3479]);
            assert.match((await valueOf(b.component.watchCommands))[1], /port-forward service\/turn 3479:3479$/);
            assert.throws(() => turnPort([TURN_PORTS[0]]), /must name one port for TCP and UDP alike \(coturn listens on both\), got: 3478\/TCP/);
            assert.equal(turnPort(loadCatalog().get("coturn").ports), 3478, "images/coturn/image.yaml");
        });

        it("WebRTC without a coturn image is a programming error, said plainly", async () => {
            await assert.rejects(build({ config: sessionConfig({ sessionTestTransport: "webrtc" }), turn: undefined }), /args\.turn \(the coturn digest and ports\)/);
        });
    });

    describe("probe Job", () => {
        let b: Built;
        let job: RegisteredResource;
        before(async () => {
            b = await build({ config: sessionConfig({ sessionTestProbeSeconds: "30", sessionTestProbeMinFps: "24" }) });
            job = b.get(JOB, "session-test-probe");
        });

        it("runs stream-probe by digest against the session Service with the probe's interface", () => {
            const [c] = job.inputs.spec.template.spec.containers;
            assert.equal(c.image, PROBE_DIGEST);
            const env = envOf(c);
            assert.equal(env.PROBE_URL, "http://session.streamspace-session-test.svc.cluster.local:8080/");
            assert.deepEqual(env.PROBE_USER, { secretKeyRef: { name: "session-credentials", key: "username" } });
            assert.equal(env.PROBE_SECONDS, "30");
            assert.equal(env.PROBE_MIN_FPS, "24");
            assert.equal(env.PROBE_EXPECT_WIDTH, "1920");
            assert.equal(env.PROBE_EXPECT_HEIGHT, "1080");
            assert.equal(env.PROBE_TIMEOUT_SECONDS, String(probeTiming(30).timeoutSeconds));
            assert.ok(env.PROBE_SCREENSHOT);
            // Plain HTTP on the cluster network: only the probe's own browser treats it as secure.
            assert.equal(env.PROBE_TREAT_AS_SECURE, "true");
            assert.equal(env.PROBE_SCREENSHOT_LOG, undefined, "the screenshot goes into the log only when the stack asks");
        });

        it("prints the screenshot into its log when the stack asks (sessionTestProbeScreenshotLog), under a new Job name", async () => {
            const asked = (await build({ config: sessionConfig({ sessionTestProbeSeconds: "30", sessionTestProbeMinFps: "24", sessionTestProbeScreenshotLog: "true" }) })).get(JOB, "session-test-probe");
            assert.equal(envOf(asked.inputs.spec.template.spec.containers[0]).PROBE_SCREENSHOT_LOG, "true");
            assert.notEqual(asked.inputs.metadata.name, job.inputs.metadata.name);
        });

        it("reads the password from the Secret mounted as a file, never from a literal", () => {
            const spec = job.inputs.spec.template.spec;
            const env = envOf(spec.containers[0]);
            assert.equal(env.PROBE_PASSWORD, undefined);
            const file: string = env.PROBE_PASSWORD_FILE;
            const volume = spec.volumes.find((v: any) => v.secret);
            assert.equal(volume.secret.secretName, "session-credentials");
            assert.deepEqual(volume.secret.items, [{ key: "password", path: "password" }]);
            const mount = spec.containers[0].volumeMounts.find((m: any) => m.name === volume.name);
            assert.equal(file, `${mount.mountPath}/password`);
            assert.equal(mount.readOnly, true);
        });

        it("runs restricted, with a memory /dev/shm for Chromium", () => {
            const spec = job.inputs.spec.template.spec;
            assertRestricted(spec, "probe");
            const shm = spec.volumes.find((v: any) => v.name === "dshm");
            assert.equal(shm.emptyDir.medium, "Memory");
            assert.ok(spec.containers[0].volumeMounts.some((m: any) => m.name === "dshm" && m.mountPath === "/dev/shm"));
        });

        it("is bounded: backoffLimit, activeDeadlineSeconds, no TTL deletion, no retries on bad config", () => {
            const spec = job.inputs.spec;
            assert.equal(spec.backoffLimit, PROBE_BACKOFF_LIMIT);
            assert.equal(spec.activeDeadlineSeconds, probeTiming(30).activeDeadlineSeconds);
            // Every attempt fits in the deadline, plus time to pull the probe image.
            assert.ok(spec.activeDeadlineSeconds >= (PROBE_BACKOFF_LIMIT + 1) * probeTiming(30).timeoutSeconds);
            assert.equal(spec.ttlSecondsAfterFinished, undefined, "a TTL would delete the Job and show as drift");
            assert.equal(spec.template.spec.restartPolicy, "Never");
            assert.deepEqual(spec.podFailurePolicy.rules[0], {
                action: "FailJob",
                onExitCodes: { containerName: "probe", operator: "In", values: [2] },
            });
            new Job({ apiVersion: "batch/v1", kind: "Job", ...job.inputs } as any).validate();
        });

        it("carries the probed image's digest in its pod template", () => {
            assert.equal(job.inputs.spec.template.metadata.annotations["streamspace.io/probed-image"], SESSION_DIGEST);
        });

        it("a new session or probe image gives a new Job name (replaced and rerun); the same inputs the same name", async () => {
            const name = job.inputs.metadata.name as string;
            assert.match(name, /^stream-probe-[0-9a-f]{10}$/);
            assert.equal((await build({ config: sessionConfig({ sessionTestProbeSeconds: "30", sessionTestProbeMinFps: "24" }) })).get(JOB, "session-test-probe").inputs.metadata.name, name);
            const newSession = await build({
                config: sessionConfig({ sessionTestProbeSeconds: "30", sessionTestProbeMinFps: "24" }),
                session: { name: "chrome-selkies", repoDigest: SESSION_DIGEST.replace(/a{64}$/, "d".repeat(64)), ports: CHROME_PORTS },
            });
            assert.notEqual(newSession.get(JOB, "session-test-probe").inputs.metadata.name, name);
            const newProbe = await build({
                config: sessionConfig({ sessionTestProbeSeconds: "30", sessionTestProbeMinFps: "24" }),
                probeImage: PROBE_DIGEST.replace(/b{64}$/, "e".repeat(64)),
            });
            assert.notEqual(newProbe.get(JOB, "session-test-probe").inputs.metadata.name, name);
            // A change of the session's pod (here: its memory) reruns the probe too.
            const newLimits = await build({
                config: sessionConfig({ sessionTestProbeSeconds: "30", sessionTestProbeMinFps: "24", sessionTestMemoryLimit: "12Gi" }),
            });
            assert.notEqual(newLimits.get(JOB, "session-test-probe").inputs.metadata.name, name);
        });

        it("waits for the Deployment and the Service, and Pulumi waits longer than the Job's own deadline", () => {
            const opts = b.options.get("session-test-probe")!;
            const deps = ([] as unknown[]).concat(opts.dependsOn ?? []);
            assert.ok(deps.includes(b.component.deployment), "the Job does not wait for the Deployment to be Available");
            assert.ok(deps.includes(b.component.service), "the Job does not wait for the Service's endpoints");
            assert.equal(b.component.networkPolicies.length, 3);
            for (const policy of b.component.networkPolicies) assert.ok(deps.includes(policy), "the probe may run before a NetworkPolicy exists");
            const seconds = (t?: string) => Number(/^(\d+)s$/.exec(t ?? "")?.[1] ?? NaN);
            assert.ok(seconds(opts.customTimeouts?.create) > job.inputs.spec.activeDeadlineSeconds, "Pulumi gives up before the Job's deadline");
            assert.ok(seconds(opts.customTimeouts?.update) > job.inputs.spec.activeDeadlineSeconds);
        });

        it("the session may take the configured time (a GPU node from zero) before the update fails", () => {
            assert.deepEqual(b.options.get("session-test-session")!.customTimeouts, { create: "20m", update: "20m" });
        });

        it("or the GPU pool's readiness estimate, where that is longer", async () => {
            const slow = await build({ scheduling: { ...GPU, readyTimeout: "25m" } });
            assert.deepEqual(slow.options.get("session-test-session")!.customTimeouts, { create: "25m", update: "25m" });
            const fast = await build({ scheduling: { ...GPU, readyTimeout: "10m" } });
            assert.deepEqual(fast.options.get("session-test-session")!.customTimeouts, { create: "20m", update: "20m" });
        });

        it("the Job name is not a secret (kubectl logs job/<name> is printed in the outputs)", async () => {
            assert.equal(await pulumi.isSecret(pulumi.output(b.component.probeJobName)), false);
        });
    });

    describe("outputs", () => {
        it("session URL, watch commands with the stack's context, password command, probe digest; the password only as a secret", async () => {
            const b = await build({ kubeContext: "kind-streamspace", stack: "staging" });
            assert.equal(await valueOf(b.component.sessionUrl), "http://session.streamspace-session-test.svc.cluster.local:8080/");
            const commands = await valueOf(b.component.watchCommands);
            for (const c of commands) assert.match(c, /^kubectl --context kind-streamspace --namespace streamspace-session-test port-forward /);
            assert.equal(b.component.passwordCommand, "pulumi stack output sessionPassword --show-secrets --stack staging");
            assert.equal(b.component.watchUrl, "http://127.0.0.1:8080/");
            assert.equal(await valueOf(b.component.probeImage), PROBE_DIGEST);
            assert.equal(await pulumi.isSecret(b.component.password), true);
        });

        it("a password from the stack config replaces the generated one and stays secret", async () => {
            const b = await build({ config: sessionConfig({ sessionTestPassword: "correct-horse-battery" }) });
            assert.equal(b.all("random:index/randomPassword:RandomPassword").filter((r) => r.name === "session-test-password").length, 0);
            assert.equal(b.get(SECRET, "session-test-credentials").inputs.stringData.password, "correct-horse-battery");
            assert.equal(await pulumi.isSecret(b.component.password), true);
        });
    });
});

describe("SessionTest in the program", () => {
    const token = { GHCR_TOKEN: "test-double-token" };
    const sessionDeployment = (run: ProgramRun) => one(run, DEPLOYMENT, "session-test-session");

    it("dev (no GPU): a complete, probed session on the software-encoding cluster, with the stack's images and context", async () => {
        const run = await runProgram({ stack: "dev" });
        assert.equal(run.error, undefined, run.error?.message);
        const digests = run.outputs.imageDigests as Record<string, string>;
        const pod = sessionDeployment(run).inputs.spec.template.spec;
        assert.equal(pod.containers[0].image, digests["chrome-selkies"]);
        assert.equal(pod.containers[0].resources.limits["nvidia.com/gpu"], undefined);
        assert.deepEqual(pod.nodeSelector, {});
        const job = one(run, JOB, "session-test-probe");
        assert.equal(job.inputs.spec.template.spec.containers[0].image, digests["stream-probe"]);
        assert.equal(run.outputs.probeImage, digests["stream-probe"]);
        // WebSockets: the web port alone, watched through a port-forward to localhost (a secure context).
        assert.equal(byType(run, "streamspace:sessionTest:TurnServer").length, 0);
        assert.deepEqual(run.outputs.watchCommands, [
            "kubectl --context kind-streamspace --namespace streamspace-session-test port-forward service/session 8080:8080",
        ]);
        assert.equal(run.outputs.sessionUrl, "http://session.streamspace-session-test.svc.cluster.local:8080/");
        assert.equal(run.outputs.passwordCommand, "pulumi stack output sessionPassword --show-secrets --stack dev");
        assert.match(String(run.outputs.probeJob), /^stream-probe-[0-9a-f]{10}$/);
        // Every Kubernetes object of the test goes to the stack's cluster, not the ambient one.
        for (const r of run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("session-test"))) {
            assert.match(r.provider ?? "", /::cluster::/, `${r.name} does not use the stack's cluster provider`);
        }
    });

    it("the password leaves the program only as a secret output", async () => {
        const run = await runProgram({ stack: "dev" });
        assert.ok(run.secretOutputs.includes("sessionPassword"), "sessionPassword is not a secret output");
        const plain = Object.entries(run.outputs).filter(([k]) => !run.secretOutputs.includes(k));
        assert.doesNotMatch(JSON.stringify(plain), /test-double-password/);
    });

    it("staging (GPU pool): one GPU, and the pool's node selector and tolerations", async () => {
        const run = await runProgram({ stack: "staging", env: token });
        assert.equal(run.error, undefined, run.error?.message);
        const scheduling = run.outputs.gpuScheduling as WorkloadScheduling;
        assert.equal(scheduling.requestsGpu, true);
        const pod = sessionDeployment(run).inputs.spec.template.spec;
        assert.equal(pod.containers[0].resources.limits["nvidia.com/gpu"], "1");
        assert.deepEqual(pod.nodeSelector, scheduling.nodeSelector);
        assert.deepEqual(pod.tolerations, scheduling.tolerations);
        assert.ok(Object.keys(pod.nodeSelector).length > 0, "a GPU pool without a node selector");
        assert.ok(byType(run, JOB).length === 1);
    });

    it("builds the session and probe images (and over WebRTC the relay's) even when the stack names other images", async () => {
        const run = await runProgram({ stack: "dev", config: { images: ["selkies-base"] } });
        assert.equal(run.error, undefined, run.error?.message);
        const built = byType(run, "docker:index/image:Image").map((r) => r.name).sort();
        assert.deepEqual(built, ["chrome-selkies", "selkies-base", "stream-probe"]);
        const webrtc = await runProgram({ stack: "dev", config: { images: ["selkies-base"], sessionTestTransport: "webrtc" } });
        assert.equal(webrtc.error, undefined, webrtc.error?.message);
        const digests = webrtc.outputs.imageDigests as Record<string, string>;
        assert.ok(byType(webrtc, "docker:index/image:Image").some((r) => r.name === "coturn"));
        assert.equal(one(webrtc, DEPLOYMENT, "session-test-session").inputs.spec.template.spec.containers[1].image, digests.coturn);
    });

    it("disabled: nothing of the session test, and no session outputs", async () => {
        const run = await runProgram({ stack: "dev", config: { sessionTestEnabled: false } });
        assert.equal(run.error, undefined, run.error?.message);
        assert.equal(run.resources.filter((r) => r.name.startsWith("session-test")).length, 0);
        assert.equal(run.outputs.sessionUrl, undefined);
        assert.equal(run.outputs.watchCommands, undefined);
    });

    describe("bad configuration stops the update before any resource exists", () => {
        const cases: [string, Record<string, unknown>, string, RegExp][] = [
            ["unknown image", { sessionTestImage: "chrom-selkies" }, "sessionTestImage", /unknown image/],
            ["an image that does not stream with Selkies", { sessionTestImage: "selkies-base" }, "sessionTestImage", /probe speaks Selkies' WebRTC protocol/],
            ["odd resolution", { sessionTestDisplayHeight: 721 }, "sessionTestDisplayHeight", /even number/],
            ["/dev/shm larger than the memory limit", { sessionTestShmSize: "6Gi" }, "sessionTestShmSize", /counts against the memory limit/],
            ["negative CPU", { sessionTestCpuLimit: "-2" }, "sessionTestCpuLimit", /must not be negative/],
        ];
        for (const [name, config, key, message] of cases) {
            it(name, async () => {
                const run = await runProgram({ stack: "dev", config });
                assert.ok(run.error, "the program did not stop");
                assert.equal(run.error.name, "ConfigError");
                assert.match(run.error.message, new RegExp(`streamspace-images:${key} = `));
                assert.match(run.error.message, message);
                assert.deepEqual(run.resources.map((r) => `${r.type} ${r.name}`), []);
            });
        }
    });
});
