import { strict as assert } from "assert";
import { tolerates } from "../../policy/rules/workloads";
import { assertNoViolation, assertOneViolation } from "./assertions";
import { CONFIG, deployment, mainContainer, probeJob, sessionPod } from "./fixtures";
import { AdaptedResource, resourceViolations } from "./policyArgsAdapter";

const check = (policy: string, resource: AdaptedResource) => resourceViolations(policy, resource, CONFIG);
const SESSION = 'Deployment "session", container "session"';

describe("policy: workloads", () => {
    const workloadPolicies = [
        "workload-image-digest",
        "workload-run-as-non-root",
        "workload-no-privilege-escalation",
        "workload-capabilities-dropped",
        "workload-seccomp-runtime-default",
        "workload-resources",
        "workload-gpu-tolerations",
        "workload-session-shm",
        "workload-host-namespaces",
    ];

    it("a session Deployment and a probe Job built like the program's pass every workload policy", async () => {
        for (const policy of workloadPolicies) {
            assertNoViolation(await check(policy, deployment()));
            assertNoViolation(await check(policy, probeJob()));
        }
    });

    it("every kind that runs pods is inspected: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob", async () => {
        const root = (pod: Record<string, any>) => {
            mainContainer(pod).securityContext.runAsUser = 0;
            return pod;
        };
        const kinds: AdaptedResource[] = [
            { type: "kubernetes:core/v1:Pod", name: "pod", props: root(sessionPod()) },
            ...["StatefulSet", "DaemonSet", "ReplicaSet"].map((kind) => ({ type: `kubernetes:apps/v1:${kind}`, name: kind, props: { spec: { template: root(sessionPod()) } } })),
            { type: "kubernetes:batch/v1:Job", name: "job", props: { spec: { template: root(sessionPod()) } } },
            { type: "kubernetes:batch/v1:CronJob", name: "cron", props: { spec: { jobTemplate: { spec: { template: root(sessionPod()) } } } } },
        ];
        for (const resource of kinds) {
            assert.equal((await check("workload-run-as-non-root", resource)).length, 1, resource.type);
        }
    });

    it("ignores resources that run no pods", async () => {
        assertNoViolation(await check("workload-run-as-non-root", { type: "kubernetes:core/v1:ConfigMap", name: "c", props: { data: {} } }));
    });

    describe("workload-image-digest", () => {
        it("refuses an image referenced by tag, naming the container and the digest form", async () => {
            const v = await check("workload-image-digest", deployment((pod) => (mainContainer(pod).image = "ghcr.io/streamspace-dev/chrome-selkies:main")));
            assertOneViolation(v, SESSION, /"ghcr\.io\/streamspace-dev\/chrome-selkies:main" is not referenced by digest/, /@sha256:<digest>/);
        });
        it("checks init containers too, and refuses a digest that is not sha256", async () => {
            const v = await check(
                "workload-image-digest",
                deployment((pod) => (pod.spec.initContainers = [{ ...mainContainer(pod), name: "setup", image: "busybox@md5:abc" }])),
            );
            assertOneViolation(v, 'Deployment "session", init container "setup"', /busybox@md5:abc/, /repoDigest/);
        });
    });

    describe("workload-run-as-non-root", () => {
        it("refuses a pod that leaves runAsNonRoot unset", async () => {
            const v = await check(
                "workload-run-as-non-root",
                deployment((pod) => {
                    delete pod.spec.securityContext.runAsNonRoot;
                    delete mainContainer(pod).securityContext.runAsNonRoot;
                }),
            );
            assertOneViolation(v, SESSION, /runAsNonRoot is not true/, /runAsNonRoot: true/);
        });
        it("refuses uid 0, and a container that overrides the pod's runAsNonRoot with false", async () => {
            const v = await check(
                "workload-run-as-non-root",
                deployment((pod) => {
                    delete mainContainer(pod).securityContext.runAsUser;
                    pod.spec.securityContext.runAsUser = 0;
                }),
            );
            assertOneViolation(v, SESSION, /runAsUser is 0/, /runAsUser: 1000/);
            const overridden = await check("workload-run-as-non-root", deployment((pod) => (mainContainer(pod).securityContext.runAsNonRoot = false)));
            assertOneViolation(overridden, SESSION, /runAsNonRoot is not true/, /runAsNonRoot: true/);
        });
        it("accepts runAsNonRoot set on the pod only", async () => {
            assertNoViolation(await check("workload-run-as-non-root", deployment((pod) => delete mainContainer(pod).securityContext.runAsNonRoot)));
        });
    });

    describe("workload-no-privilege-escalation", () => {
        it("refuses a container without allowPrivilegeEscalation: false", async () => {
            const v = await check("workload-no-privilege-escalation", deployment((pod) => delete mainContainer(pod).securityContext.allowPrivilegeEscalation));
            assertOneViolation(v, SESSION, /allowPrivilegeEscalation is not false/, /allowPrivilegeEscalation: false/);
        });
        it("refuses a privileged container", async () => {
            const v = await check("workload-no-privilege-escalation", deployment((pod) => (mainContainer(pod).securityContext.privileged = true)));
            assertOneViolation(v, SESSION, /runs privileged/, /remove privileged: true/);
        });
    });

    describe("workload-capabilities-dropped", () => {
        it("refuses a container that keeps the runtime's default capabilities", async () => {
            const v = await check("workload-capabilities-dropped", deployment((pod) => delete mainContainer(pod).securityContext.capabilities));
            assertOneViolation(v, SESSION, /capabilities are not dropped/, /drop: \["ALL"\]/);
        });
        it("refuses added capabilities other than NET_BIND_SERVICE", async () => {
            const v = await check("workload-capabilities-dropped", deployment((pod) => (mainContainer(pod).securityContext.capabilities.add = ["NET_BIND_SERVICE", "SYS_ADMIN"])));
            assertOneViolation(v, SESSION, /adds the capabilities SYS_ADMIN$/, /only NET_BIND_SERVICE/);
            assertNoViolation(await check("workload-capabilities-dropped", deployment((pod) => (mainContainer(pod).securityContext.capabilities.add = ["NET_BIND_SERVICE"]))));
        });
    });

    describe("workload-seccomp-runtime-default", () => {
        it("refuses a pod without a seccomp profile", async () => {
            const v = await check(
                "workload-seccomp-runtime-default",
                deployment((pod) => {
                    delete pod.spec.securityContext.seccompProfile;
                    delete mainContainer(pod).securityContext.seccompProfile;
                }),
            );
            assertOneViolation(v, SESSION, /has no seccomp profile/, /seccompProfile\.type: RuntimeDefault/);
        });
        it("refuses a container that overrides the pod's profile with Unconfined; the pod's profile alone is enough", async () => {
            const v = await check("workload-seccomp-runtime-default", deployment((pod) => (mainContainer(pod).securityContext.seccompProfile = { type: "Unconfined" })));
            assertOneViolation(v, SESSION, /seccomp profile is Unconfined/, /RuntimeDefault/);
            assertNoViolation(await check("workload-seccomp-runtime-default", deployment((pod) => delete mainContainer(pod).securityContext.seccompProfile)));
        });
    });

    describe("workload-resources", () => {
        it("refuses a container without a memory limit, naming the missing field", async () => {
            const v = await check("workload-resources", deployment((pod) => delete mainContainer(pod).resources.limits.memory));
            assertOneViolation(v, SESSION, /has no resources\.limits\.memory$/, /sessionTestMemoryLimit/);
        });
        it("refuses a container without any requests", async () => {
            const v = await check("workload-resources", probeJob((pod) => delete mainContainer(pod).resources.requests));
            assertOneViolation(v, 'Job "session-test-probe", container "probe"', /resources\.requests\.cpu, resources\.requests\.memory/, /requests and limits/);
        });
    });

    describe("workload-gpu-tolerations", () => {
        // limit null: the GPU is only requested.
        const gpu = (tolerations: unknown[] | undefined, limit: string | null = "1") =>
            deployment((pod) => {
                const resources = mainContainer(pod).resources;
                if (limit !== null) resources.limits["nvidia.com/gpu"] = limit;
                else resources.requests["nvidia.com/gpu"] = "1";
                if (tolerations) pod.spec.tolerations = tolerations;
                pod.spec.nodeSelector = { "streamspace.io/node-type": "gpu" };
            });

        it("refuses a GPU limit without the GPU pool's toleration", async () => {
            const v = await check("workload-gpu-tolerations", gpu(undefined));
            assertOneViolation(v, 'Deployment "session"', /does not tolerate the GPU pool's taint nvidia\.com\/gpu=true:NoSchedule/, /operator: Exists, effect: NoSchedule.*streamspace\.io\/node-type: gpu/);
        });
        it("refuses a toleration of another effect, and accepts Exists or the taint's value", async () => {
            assert.equal((await check("workload-gpu-tolerations", gpu([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoExecute" }]))).length, 1);
            assertNoViolation(await check("workload-gpu-tolerations", gpu([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }])));
            assertNoViolation(await check("workload-gpu-tolerations", gpu([{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }])));
        });
        it("refuses a GPU request without a limit, and a fractional GPU", async () => {
            const toleration = [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }];
            assertOneViolation(await check("workload-gpu-tolerations", gpu(toleration, null)), SESSION, /requests nvidia\.com\/gpu without a limit/, /resources\.limits\["nvidia\.com\/gpu"\]/);
            assertOneViolation(await check("workload-gpu-tolerations", gpu(toleration, "0.5")), SESSION, /"0\.5", which is not a whole number/, /"1"/);
        });
        it("matches tolerations the way the scheduler does", () => {
            const taint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };
            assert.ok(tolerates({ operator: "Exists" }, taint), "an empty key with Exists tolerates every taint");
            assert.ok(!tolerates({ key: "nvidia.com/gpu", value: "present" }, taint), "Equal needs the same value");
            assert.ok(!tolerates({ key: "other", operator: "Exists" }, taint));
            assert.ok(tolerates({ key: "nvidia.com/gpu", operator: "Exists" }, taint), "no effect tolerates every effect");
        });
    });

    describe("workload-session-shm", () => {
        it("refuses a session pod (by its component label) without its own /dev/shm", async () => {
            const v = await check(
                "workload-session-shm",
                deployment((pod) => {
                    mainContainer(pod).volumeMounts = [];
                    pod.spec.volumes = [];
                }),
            );
            assertOneViolation(v, SESSION, /without its own \/dev\/shm/, /medium: Memory and a sizeLimit of at least 1Gi at \/dev\/shm/);
        });
        it("recognises a session image by name when the pod carries no component label", async () => {
            const v = await check(
                "workload-session-shm",
                deployment((pod) => {
                    pod.metadata.labels = {};
                    pod.spec.volumes[0].emptyDir = {};
                }),
            );
            assertOneViolation(v, SESSION, /not a memory-backed emptyDir/, /sessionTestShmSize/);
        });
        it("refuses an unbounded or too small /dev/shm", async () => {
            assertOneViolation(await check("workload-session-shm", deployment((pod) => delete pod.spec.volumes[0].emptyDir.sizeLimit)), SESSION, /has no sizeLimit/, /at least 1Gi/);
            assertOneViolation(await check("workload-session-shm", deployment((pod) => (pod.spec.volumes[0].emptyDir.sizeLimit = "512Mi"))), SESSION, /is 512Mi, less than 1Gi/, /at least 1Gi/);
            assertNoViolation(await check("workload-session-shm", deployment((pod) => (pod.spec.volumes[0].emptyDir.sizeLimit = "1Gi"))));
        });
        it("in a labelled pod with a helper container, asks only the container the default-container annotation names", async () => {
            const withRelay = (annotate: boolean) =>
                deployment((pod) => {
                    if (annotate) pod.metadata.annotations = { "kubectl.kubernetes.io/default-container": "session" };
                    pod.spec.containers.push({ ...mainContainer(pod), name: "turn", image: "ghcr.io/acme/coturn@sha256:" + "c".repeat(64), volumeMounts: [] });
                });
            assertNoViolation(await check("workload-session-shm", withRelay(true)));
            assertOneViolation(await check("workload-session-shm", withRelay(false)), 'Deployment "session", container "turn"', /without its own \/dev\/shm/, /at least 1Gi/);
            // The annotation does not excuse the session container itself.
            const bare = deployment((pod) => {
                pod.metadata.annotations = { "kubectl.kubernetes.io/default-container": "session" };
                mainContainer(pod).volumeMounts = [];
            });
            assertOneViolation(await check("workload-session-shm", bare), SESSION, /without its own \/dev\/shm/, /at least 1Gi/);
        });
        it("does not ask a tool image (the probe) for a session's /dev/shm", async () => {
            assertNoViolation(await check("workload-session-shm", probeJob()));
        });
    });

    describe("workload-host-namespaces", () => {
        it("refuses hostNetwork and hostPID, one violation each", async () => {
            const v = await check(
                "workload-host-namespaces",
                deployment((pod) => {
                    pod.spec.hostNetwork = true;
                    pod.spec.hostPID = true;
                }),
            );
            assert.equal(v.length, 2);
            assertOneViolation([v[0]], 'Deployment "session"', /sets hostNetwork: true/, /remove hostNetwork/);
            assertOneViolation([v[1]], 'Deployment "session"', /sets hostPID: true/, /remove hostPID/);
        });
    });
});
