/**
 * The session test's pods as pure builders: the whole manifest for the smallest inputs, compared
 * exactly (no mocks, no Pulumi), and what GPU scheduling and the relay add to it.
 */
import { strict as assert } from "assert";
import { Pod } from "kubernetes-models/v1";
import { parseStackConfig } from "../../config";
import { SessionTestConfig } from "../../config/sessionTest";
import { restrictedContainerSecurity, restrictedPodSecurity } from "../../components/podSecurity";
import { probeEnv, sessionEnv, sessionPodTemplate, sessionPorts, streamProbePodTemplate } from "../../components/sessionTestManifests";
import { NO_GPU, WorkloadScheduling } from "../../components/workloadScheduling";

const IMAGE = "ghcr.io/acme/chrome-selkies@sha256:" + "a".repeat(64);
const LABELS = { "app.kubernetes.io/component": "session" };
const PORTS = [
    { name: "selkies", port: 8080, protocol: "TCP" as const },
    { name: "vnc", port: 5900, protocol: "TCP" as const },
];
const GPU: WorkloadScheduling = {
    nodeSelector: { "streamspace.io/node-type": "gpu" },
    tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
    requestsGpu: true,
    runtimeClassName: "nvidia",
};

function config(raw: Record<string, string> = {}): SessionTestConfig {
    return parseStackConfig({ registryServer: "localhost:5001", ...raw }, { stack: "dev", imageNames: ["selkies-base", "chrome-selkies", "stream-probe", "coturn"] }).sessionTest;
}

const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });

describe("session test manifests", () => {
    it("sessionEnv: the display, what StreamSpace's agent sets, Selkies' transport and credentials", () => {
        assert.deepEqual(sessionEnv({ config: config(), scheduling: NO_GPU, credentialsSecret: "creds" }), [
            { name: "DISPLAY_WIDTH", value: "1920" },
            { name: "DISPLAY_HEIGHT", value: "1080" },
            { name: "DISPLAY_DPI", value: "96" },
            { name: "PUID", value: "1000" },
            { name: "PGID", value: "1000" },
            { name: "TZ", value: "UTC" },
            { name: "SELKIES_ENCODER", value: "auto" },
            { name: "SELKIES_MODE", value: "websockets" },
            { name: "SELKIES_ENABLE_BASIC_AUTH", value: "true" },
            { name: "SELKIES_BASIC_AUTH_USER", valueFrom: secretRef("creds", "username") },
            { name: "SELKIES_BASIC_AUTH_PASSWORD", valueFrom: secretRef("creds", "password") },
            { name: "VNC_PASSWORD", valueFrom: secretRef("creds", "password") },
        ]);
        const webrtc = sessionEnv({ config: config({ sessionTestTransport: "webrtc" }), scheduling: GPU, credentialsSecret: "creds", turnSecret: "turn", turnPort: 3478 });
        assert.deepEqual(webrtc.slice(12), [
            { name: "NVIDIA_DRIVER_CAPABILITIES", value: "compute,utility,video,graphics" },
            { name: "SELKIES_TURN_HOST", value: "127.0.0.1" },
            { name: "SELKIES_TURN_PORT", value: "3478" },
            { name: "SELKIES_TURN_PROTOCOL", value: "tcp" },
            { name: "SELKIES_TURN_USERNAME", valueFrom: secretRef("turn", "username") },
            { name: "SELKIES_TURN_PASSWORD", valueFrom: secretRef("turn", "password") },
        ]);
    });

    it("sessionPodTemplate: the whole pod for the smallest inputs", () => {
        const health = { httpGet: { path: "/health", port: "selkies" } };
        const pod = sessionPodTemplate({ config: config(), scheduling: NO_GPU, labels: LABELS, image: IMAGE, ports: PORTS, env: [] });
        assert.deepEqual(pod, {
            metadata: { labels: LABELS, annotations: { "kubectl.kubernetes.io/default-container": "session" } },
            spec: {
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                securityContext: restrictedPodSecurity,
                terminationGracePeriodSeconds: 60,
                nodeSelector: {},
                tolerations: [],
                containers: [
                    {
                        name: "session",
                        image: IMAGE,
                        imagePullPolicy: "IfNotPresent",
                        env: [],
                        ports: [
                            { name: "selkies", containerPort: 8080, protocol: "TCP" },
                            { name: "vnc", containerPort: 5900, protocol: "TCP" },
                        ],
                        resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "4", memory: "8Gi" } },
                        startupProbe: { ...health, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 },
                        readinessProbe: { ...health, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                        livenessProbe: { ...health, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
                        securityContext: restrictedContainerSecurity,
                        volumeMounts: [
                            { name: "dshm", mountPath: "/dev/shm" },
                            { name: "home", mountPath: "/config" },
                        ],
                    },
                ],
                volumes: [
                    { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "2Gi" } },
                    { name: "home", emptyDir: {} },
                ],
            },
        });
        new Pod({ metadata: { name: "session" }, spec: pod.spec as never }).validate();
    });

    it("sessionPodTemplate: a GPU pool adds the GPU, its selector, tolerations and runtime class; a relay adds its container and volume", () => {
        const relay = { name: "turn", image: "coturn" };
        const pod = sessionPodTemplate({
            config: config(),
            scheduling: GPU,
            labels: LABELS,
            image: IMAGE,
            ports: PORTS,
            env: [],
            sidecars: { containers: [relay], volumes: [{ name: "turn-tmp", emptyDir: {} }] },
        });
        const spec = pod.spec as any;
        assert.deepEqual(spec.containers[0].resources.limits, { cpu: "4", memory: "8Gi", "nvidia.com/gpu": "1" });
        assert.deepEqual([spec.nodeSelector, spec.tolerations, spec.runtimeClassName], [GPU.nodeSelector, GPU.tolerations, "nvidia"]);
        assert.deepEqual(spec.containers.map((c: { name: string }) => c.name), ["session", "turn"]);
        assert.deepEqual(spec.volumes.map((v: { name: string }) => v.name), ["dshm", "home", "turn-tmp"]);
    });

    it("sessionPorts: the image's ports and its web client's; Selkies' 8080 when the image names none", () => {
        assert.deepEqual(sessionPorts(PORTS).web, PORTS[0]);
        assert.deepEqual(sessionPorts([{ name: "web", port: 3000, protocol: "TCP" }]).web, { name: "web", port: 3000, protocol: "TCP" });
        assert.deepEqual(sessionPorts([]), { ports: [{ name: "selkies", port: 8080, protocol: "TCP" }], web: { name: "selkies", port: 8080, protocol: "TCP" } });
    });

    it("probeEnv and streamProbePodTemplate: the probe's interface, its password from a file, nothing else mounted", () => {
        const env = probeEnv({ config: config({ sessionTestProbeScreenshotLog: "true" }), sessionUrl: "http://session.ns.svc.cluster.local:8080/", credentialsSecret: "creds", timeoutSeconds: 140 });
        assert.deepEqual(env, [
            { name: "PROBE_URL", value: "http://session.ns.svc.cluster.local:8080/" },
            { name: "PROBE_USER", valueFrom: secretRef("creds", "username") },
            { name: "PROBE_PASSWORD_FILE", value: "/run/secrets/session/password" },
            { name: "PROBE_SECONDS", value: "20" },
            { name: "PROBE_MIN_FPS", value: "10" },
            { name: "PROBE_EXPECT_WIDTH", value: "1920" },
            { name: "PROBE_EXPECT_HEIGHT", value: "1080" },
            { name: "PROBE_TIMEOUT_SECONDS", value: "140" },
            { name: "PROBE_SCREENSHOT", value: "/tmp/stream-probe.png" },
            { name: "PROBE_TREAT_AS_SECURE", value: "true" },
            { name: "PROBE_SCREENSHOT_LOG", value: "true" },
        ]);
        const pod = streamProbePodTemplate({ labels: { a: "b" }, annotations: { c: "d" }, image: "probe@sha256:" + "b".repeat(64), env, credentialsSecret: "creds" });
        const spec = pod.spec as any;
        assert.equal(spec.restartPolicy, "Never");
        assert.equal(spec.automountServiceAccountToken, false);
        assert.deepEqual(spec.volumes[0], { name: "credentials", secret: { secretName: "creds", items: [{ key: "password", path: "password" }], defaultMode: 0o440 } });
        assert.deepEqual(spec.containers[0].volumeMounts, [
            { name: "dshm", mountPath: "/dev/shm" },
            { name: "tmp", mountPath: "/tmp" },
            { name: "credentials", mountPath: "/run/secrets/session", readOnly: true },
        ]);
        new Pod({ metadata: { name: "probe" }, spec }).validate();
    });
});
