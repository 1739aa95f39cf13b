import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { parseStackConfig } from "../../config";
import { DEVICE_PLUGIN_CHART_VERSION, EksGpuConfig, ExistingGpuConfig, GkeGpuConfig, GpuConfig } from "../../config/gpu";
import { encodeConfigValue } from "../../config/stackFile";
import {
    autoscalerTagInputs,
    devicePluginNamespaceInputs,
    devicePluginReleaseInputs,
    eksLaunchTemplateInputs,
    eksNodeGroupInputs,
    eksNodeUserData,
    gkeNodePoolInputs,
    gpuScheduling,
    nvidiaRuntimeClassInputs,
} from "../../components/gpuNodePool";
import { PROJECT, ProgramRun, byType, one, runProgram } from "../harness";

const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const ASG_TAG = "aws:autoscaling/tag:Tag";
const NODE_POOL = "gcp:container/nodePool:NodePool";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const RUNTIME_CLASS = "kubernetes:node.k8s.io/v1:RuntimeClass";
const NAMESPACE = "kubernetes:core/v1:Namespace";

const eks = {
    gpuProvider: "eks",
    gpuEksClusterName: "streamspace-staging",
    gpuEksNodeRoleArn: "arn:aws:iam::123456789012:role/streamspace-gpu-node",
    gpuEksSubnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
};
const gke = { gpuProvider: "gke", gpuGkeCluster: "streamspace-prod", gpuGkeLocation: "us-central1" };

const selector = { "streamspace.io/node-type": "gpu" };
const toleration = { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" };
// IMDSv2 only, its token one hop: sessions (browsers with open egress) cannot fetch the node role's credentials.
const nodeMetadata = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 };

async function run(config: Record<string, unknown>): Promise<ProgramRun> {
    const result = await runProgram({ stack: "dev", config });
    assert.equal(result.error, undefined, result.error?.message);
    return result;
}

/** The GPU section of a stack configured with `values` (keys without the project prefix). */
function gpuConfig<T extends GpuConfig>(values: Record<string, unknown>): T {
    const raw = Object.fromEntries(Object.entries({ registryServer: "localhost:5001", ...values }).map(([k, v]) => [`${PROJECT}:${k}`, encodeConfigValue(v, "")]));
    return parseStackConfig(raw, { stack: "dev", imageNames: ["selkies-base", "chrome-selkies"] }).gpu as T;
}

/** Inputs as a resource registers them: fields left undefined are not sent. */
function registered(inputs: unknown): unknown {
    return JSON.parse(JSON.stringify(inputs));
}

const taint = { key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" };
const autoscalerLabel = "k8s.io/cluster-autoscaler/node-template/label/streamspace.io/node-type";
const autoscalerTaint = "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu";
const pluginAffinity = {
    nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "streamspace.io/node-type", operator: "In", values: ["gpu"] }] }],
        },
    },
};

function usesClusterProvider(run: ProgramRun, type: string): void {
    for (const r of byType(run, type)) {
        assert.match(r.provider ?? "", /::pulumi:providers:kubernetes::cluster::/, `${r.name} is not created with the stack's cluster provider`);
    }
}

function gpuResources(run: ProgramRun): string[] {
    return run.resources
        .filter((r) => [NODE_GROUP, LAUNCH_TEMPLATE, ASG_TAG, NODE_POOL, RELEASE, RUNTIME_CLASS].includes(r.type))
        .map((r) => r.type);
}

describe("GpuNodePool", () => {
    describe("inputs (pure builders)", () => {
        it("eksNodeGroupInputs: the whole node group for the smallest EKS config: T4 nodes on the NVIDIA AMI, from zero, on demand, on the launch template", () => {
            const group = eksNodeGroupInputs(gpuConfig<EksGpuConfig>(eks), { id: "lt-0123", version: "1" });
            assert.deepEqual(group, {
                clusterName: "streamspace-staging",
                nodeRoleArn: eks.gpuEksNodeRoleArn,
                subnetIds: eks.gpuEksSubnetIds,
                amiType: "AL2023_x86_64_NVIDIA",
                instanceTypes: ["g4dn.xlarge"],
                capacityType: "ON_DEMAND",
                launchTemplate: { id: "lt-0123", version: "1" },
                scalingConfig: { minSize: 0, maxSize: 2, desiredSize: 0 },
                updateConfig: { maxUnavailable: 1 },
                labels: selector,
                taints: [taint],
                tags: { "streamspace.io/pool": "gpu", [autoscalerLabel]: "gpu", [autoscalerTaint]: "true:NoSchedule" },
            });
            assert.equal((group as Record<string, unknown>).diskSize, undefined, "EKS rejects diskSize on a node group with a launch template");
        });

        it("takes Spot capacity, other sizes and instance types from config", () => {
            const config = gpuConfig<EksGpuConfig>({ ...eks, gpuSpot: true, gpuInstanceType: "g6.2xlarge", gpuMinNodes: 1, gpuMaxNodes: 5, gpuDesiredNodes: 2 });
            const group = eksNodeGroupInputs(config, { id: "lt-0123", version: "1" });
            assert.equal(group.capacityType, "SPOT");
            assert.deepEqual(group.instanceTypes, ["g6.2xlarge"]);
            assert.deepEqual(group.scalingConfig, { minSize: 1, maxSize: 5, desiredSize: 2 });
            assert.equal(gpuScheduling(config).readyTimeout, "10m");
        });

        it("accepts an A100 instance type when software encoding is intended, and says so to workloads", () => {
            const config = gpuConfig<EksGpuConfig>({ ...eks, gpuInstanceType: "p4d.24xlarge", gpuSoftwareEncoding: true });
            assert.deepEqual(eksNodeGroupInputs(config, { id: "lt-0123", version: "1" }).instanceTypes, ["p4d.24xlarge"]);
            assert.equal(gpuScheduling(config).encoding, "software");
        });

        it("eksLaunchTemplateInputs: IMDSv2 only with hop limit 1, the toolkit's user data, a gp3 root volume; no AMI or instance type, which EKS refuses twice", () => {
            const template = eksLaunchTemplateInputs(gpuConfig<EksGpuConfig>(eks));
            assert.deepEqual(template, {
                description: "StreamSpace GPU session nodes: IMDSv2 only, not reachable from pods",
                metadataOptions: nodeMetadata,
                userData: eksNodeUserData(),
                blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 100, volumeType: "gp3", deleteOnTermination: "true" } }],
            });
            const larger = eksLaunchTemplateInputs(gpuConfig<EksGpuConfig>({ ...eks, gpuDiskSizeGb: 200 }));
            assert.deepEqual(larger.blockDeviceMappings, [
                { deviceName: "/dev/xvda", ebs: { volumeSize: 200, volumeType: "gp3", deleteOnTermination: "true" } },
            ]);
            // The node group names the AMI type and instance types; EKS refuses a launch template that names them again.
            for (const field of ["imageId", "instanceType"] as const) {
                assert.equal(larger[field], undefined, `the launch template sets ${field}`);
            }
        });

        it("sets the nodes' NVIDIA toolkit to take GPUs from the device plugin's volume mounts only, in the launch template's user data", () => {
            const mime = Buffer.from(eksNodeUserData(), "base64").toString("utf8");
            assert.match(mime, /^MIME-Version: 1\.0\nContent-Type: multipart\/mixed; boundary="==STREAMSPACE=="\n/);
            const part = /Content-Type: text\/x-shellscript; charset="us-ascii"\n\n([\s\S]*?)\n\n--==STREAMSPACE==--\n$/.exec(mime);
            assert.ok(part, `no shell-script part ending the MIME document:\n${mime}`);
            assert.match(part[1], /^#!\/bin\/bash\n/);
            assert.match(part[1], /nvidia-ctk config --in-place/);
            assert.match(part[1], /--set accept-nvidia-visible-devices-as-volume-mounts=true/);
            assert.match(part[1], /--set accept-nvidia-visible-devices-envvar-when-unprivileged=false/);
            // The script is valid bash.
            const check = spawnSync("bash", ["-n"], { input: part[1], encoding: "utf8" });
            assert.equal(check.status, 0, check.stderr);
        });

        it("autoscalerTagInputs: the label and taint of nodes the cluster autoscaler has not started (scale from zero)", () => {
            assert.deepEqual(autoscalerTagInputs("eks-gpu-asg"), [
                { suffix: "label", inputs: { autoscalingGroupName: "eks-gpu-asg", tag: { key: autoscalerLabel, value: "gpu", propagateAtLaunch: false } } },
                { suffix: "taint", inputs: { autoscalingGroupName: "eks-gpu-asg", tag: { key: autoscalerTaint, value: "true:NoSchedule", propagateAtLaunch: false } } },
            ]);
        });

        it("devicePluginReleaseInputs: the pinned chart on the GPU nodes only, tolerating their taint, GPUs as volume mounts", () => {
            const release = devicePluginReleaseInputs({ version: DEVICE_PLUGIN_CHART_VERSION }, undefined, "nvidia-device-plugin");
            assert.deepEqual(release, {
                name: "nvidia-device-plugin",
                chart: "nvidia-device-plugin",
                version: DEVICE_PLUGIN_CHART_VERSION,
                repositoryOpts: { repo: "https://nvidia.github.io/k8s-device-plugin" },
                namespace: "nvidia-device-plugin",
                values: {
                    nodeSelector: selector,
                    affinity: pluginAffinity,
                    tolerations: [toleration, { key: "CriticalAddonsOnly", operator: "Exists" }],
                    deviceListStrategy: "volume-mounts",
                },
                timeout: 600,
                atomic: true,
                cleanupOnFail: true,
            });
            const values = devicePluginReleaseInputs({ version: DEVICE_PLUGIN_CHART_VERSION }, "nvidia", "nvidia-device-plugin").values as Record<string, unknown>;
            assert.equal(values.runtimeClassName, "nvidia");
        });

        it("devicePluginNamespaceInputs and nvidiaRuntimeClassInputs: a privileged namespace for the plugin; RuntimeClass nvidia on the GPU nodes", () => {
            assert.deepEqual(devicePluginNamespaceInputs(), {
                metadata: { name: "nvidia-device-plugin", labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
            });
            assert.deepEqual(nvidiaRuntimeClassInputs("nvidia"), {
                metadata: { name: "nvidia" },
                handler: "nvidia",
                scheduling: { nodeSelector: selector, tolerations: [toleration] },
            });
        });

        it("gkeNodePoolInputs: the whole node pool for the smallest GKE config: L4 nodes from zero, the driver installed by GKE, the node's token kept from pods", () => {
            assert.deepEqual(gkeNodePoolInputs(gpuConfig<GkeGpuConfig>(gke)), {
                cluster: "streamspace-prod",
                location: "us-central1",
                project: undefined,
                initialNodeCount: 0,
                autoscaling: { totalMinNodeCount: 0, totalMaxNodeCount: 2, locationPolicy: "BALANCED" },
                management: { autoRepair: true, autoUpgrade: true },
                upgradeSettings: { maxSurge: 1, maxUnavailable: 0 },
                nodeConfig: {
                    machineType: "g2-standard-4",
                    diskSizeGb: 100,
                    spot: false,
                    labels: selector,
                    taints: [taint],
                    guestAccelerators: [{ type: "nvidia-l4", count: 1, gpuDriverInstallationConfig: { gpuDriverVersion: "DEFAULT" } }],
                    // The GKE metadata server withholds the node service account's token; legacy endpoints off.
                    workloadMetadataConfig: { mode: "GKE_METADATA" },
                    metadata: { "disable-legacy-endpoints": "true" },
                },
            });
        });

        it("uses Spot VMs, a T4 on N1, a project and a dedicated node service account from config", () => {
            const pool = gkeNodePoolInputs(
                gpuConfig<GkeGpuConfig>({
                    ...gke,
                    gpuSpot: true,
                    gpuInstanceType: "n1-standard-8",
                    gpuAcceleratorType: "nvidia-tesla-t4",
                    gpuGkeProject: "acme-streaming",
                    gpuGkeServiceAccount: "gpu-nodes@acme-streaming.iam.gserviceaccount.com",
                    gpuGkeDriverVersion: "LATEST",
                }),
            ) as any;
            assert.equal(pool.nodeConfig.spot, true);
            assert.equal(pool.autoscaling.locationPolicy, "ANY");
            assert.equal(pool.project, "acme-streaming");
            assert.equal(pool.nodeConfig.machineType, "n1-standard-8");
            assert.deepEqual(pool.nodeConfig.guestAccelerators, [{ type: "nvidia-tesla-t4", count: 1, gpuDriverInstallationConfig: { gpuDriverVersion: "LATEST" } }]);
            assert.equal(pool.nodeConfig.serviceAccount, "gpu-nodes@acme-streaming.iam.gserviceaccount.com");
            assert.deepEqual(pool.nodeConfig.oauthScopes, ["https://www.googleapis.com/auth/cloud-platform"]);
        });

        it("gpuScheduling: the label, a toleration that matches GKE's own nvidia.com/gpu=present taint as well as ours, the RuntimeClass, longer from zero", () => {
            assert.deepEqual(gpuScheduling(gpuConfig({ gpuProvider: "none" })), { nodeSelector: {}, tolerations: [], requestsGpu: false, encoding: "software" });
            const onGpu = { nodeSelector: selector, tolerations: [toleration], requestsGpu: true, encoding: "nvenc" };
            assert.deepEqual(gpuScheduling(gpuConfig(eks)), { ...onGpu, readyTimeout: "25m" });
            const gkeScheduling = gpuScheduling(gpuConfig(gke));
            assert.deepEqual(gkeScheduling, { ...onGpu, readyTimeout: "25m" });
            assert.equal((gkeScheduling.tolerations[0] as { value?: string }).value, undefined, "an Equal toleration would miss GKE's 'present' value");
            assert.deepEqual(gpuScheduling(gpuConfig<ExistingGpuConfig>({ gpuProvider: "existing" })), { ...onGpu, readyTimeout: "10m" });
            assert.deepEqual(gpuScheduling(gpuConfig<ExistingGpuConfig>({ gpuProvider: "existing", gpuRuntimeClass: "nvidia" })), {
                ...onGpu,
                runtimeClassName: "nvidia",
                readyTimeout: "10m",
            });
        });
    });

    describe("none", () => {
        it("creates no GPU resource and lets sessions run anywhere with software encoding", async () => {
            const r = await run({ gpuProvider: "none" });
            assert.deepEqual(gpuResources(r), []);
            assert.deepEqual(r.outputs.gpuScheduling, { nodeSelector: {}, tolerations: [], requestsGpu: false, encoding: "software" });
        });
    });

    describe("eks", () => {
        let r: ProgramRun;
        before(async () => {
            r = await run(eks);
        });

        it("registers the node group on the latest version of its launch template, which keeps pods from the node role's credentials (IMDSv2, hop limit 1)", () => {
            const config = gpuConfig<EksGpuConfig>(eks);
            const template = one(r, LAUNCH_TEMPLATE);
            assert.deepEqual(template.inputs.metadataOptions, nodeMetadata);
            assert.deepEqual(template.inputs, registered(eksLaunchTemplateInputs(config)));
            const group = one(r, NODE_GROUP);
            // The harness's mocks give a resource the id <name>-id, and a new launch template version 1.
            assert.deepEqual(group.inputs.launchTemplate, { id: `${template.name}-id`, version: "1" });
            assert.deepEqual(group.propertyDependencies?.launchTemplate, [template.urn], "the node group does not take its launch template from the template resource");
            assert.deepEqual(group.inputs, registered(eksNodeGroupInputs(config, { id: `${template.name}-id`, version: "1" })));
        });

        it("tells the cluster autoscaler the label and taint of nodes it has not started (scale from zero)", () => {
            const tags = Object.fromEntries(byType(r, ASG_TAG).map((t) => [t.inputs.tag.key, t.inputs.tag]));
            assert.deepEqual(Object.keys(tags).sort(), [autoscalerLabel, autoscalerTaint]);
            assert.equal(tags[autoscalerLabel].value, "gpu");
            assert.equal(tags[autoscalerTaint].value, "true:NoSchedule");
            assert.deepEqual(byType(r, ASG_TAG).map((t) => t.name), ["gpu-autoscaler-label", "gpu-autoscaler-taint"]);
            assert.equal(one(r, NODE_GROUP).inputs.tags[autoscalerTaint], "true:NoSchedule");
        });

        it("installs the pinned NVIDIA device plugin in its namespace, through the cluster's provider, and no RuntimeClass", () => {
            const release = one(r, RELEASE);
            assert.equal(release.inputs.version, DEVICE_PLUGIN_CHART_VERSION);
            assert.equal(release.inputs.values.deviceListStrategy, "volume-mounts", "a pod could pick GPUs by setting NVIDIA_VISIBLE_DEVICES");
            // The Helm provider adds its own `compat` flag; the Kubernetes SDK the apiVersion and kind.
            const { compat, ...releaseInputs } = release.inputs;
            assert.equal(compat, "true");
            assert.deepEqual(releaseInputs, registered(devicePluginReleaseInputs({ version: DEVICE_PLUGIN_CHART_VERSION }, undefined, "nvidia-device-plugin")));
            const { apiVersion, kind, ...namespaceInputs } = one(r, NAMESPACE, "gpu-device-plugin").inputs;
            assert.deepEqual([apiVersion, kind], ["v1", "Namespace"]);
            assert.deepEqual(namespaceInputs, registered(devicePluginNamespaceInputs()));
            assert.deepEqual(byType(r, RUNTIME_CLASS), [], "EKS's NVIDIA AMI needs no RuntimeClass");
            usesClusterProvider(r, RELEASE);
            usesClusterProvider(r, NAMESPACE);
        });

        it("exports the node selector and the toleration workloads must use, with a timeout for a node from zero", () => {
            assert.deepEqual(r.outputs.gpuScheduling, {
                nodeSelector: selector,
                tolerations: [toleration],
                requestsGpu: true,
                encoding: "nvenc",
                readyTimeout: "25m",
            });
        });

        it("logs no warning for a known NVENC-capable type", () => {
            assert.deepEqual(r.logs.filter((l) => l.startsWith("warn:") && /gpu/i.test(l)), []);
        });
    });

    describe("eks, configured otherwise", () => {
        it("leaves the device plugin out when the cluster already runs one", async () => {
            const r = await run({ ...eks, gpuDevicePlugin: false });
            assert.deepEqual(byType(r, RELEASE), []);
            assert.equal(byType(r, NODE_GROUP).length, 1);
        });

        it("warns about an instance family it does not know, naming NVENC-capable ones, and goes on", async () => {
            const r = await run({ ...eks, gpuInstanceType: "g9x.xlarge" });
            assert.equal(byType(r, NODE_GROUP).length, 1);
            const warning = r.logs.find((l) => l.includes("g9x.xlarge"));
            assert.ok(warning, `no warning in ${JSON.stringify(r.logs)}`);
            assert.match(warning, /^warn: /);
            assert.match(warning, /g4dn \(NVIDIA T4\), g5 \(NVIDIA A10G\), g6 \(NVIDIA L4\), g6e \(NVIDIA L40S\)/);
        });
    });

    describe("gke", () => {
        let r: ProgramRun;
        before(async () => {
            r = await run(gke);
        });

        it("registers the node pool with gkeNodePoolInputs", () => {
            const pool = one(r, NODE_POOL);
            assert.equal(pool.inputs.cluster, "streamspace-prod");
            assert.deepEqual(pool.inputs, registered(gkeNodePoolInputs(gpuConfig<GkeGpuConfig>(gke))));
        });

        it("installs no device plugin or RuntimeClass: GKE brings its own", () => {
            assert.deepEqual(byType(r, RELEASE), []);
            assert.deepEqual(byType(r, RUNTIME_CLASS), []);
        });

        it("exports a toleration that matches GKE's own nvidia.com/gpu=present taint as well as ours", () => {
            const scheduling = r.outputs.gpuScheduling as { tolerations: { key: string; operator: string; effect: string; value?: string }[] };
            assert.deepEqual(scheduling.tolerations, [toleration]);
            assert.equal(scheduling.tolerations[0].value, undefined, "an Equal toleration would miss GKE's 'present' value");
        });
    });

    describe("existing", () => {
        it("creates no nodes, installs the device plugin and selects the labelled nodes", async () => {
            const r = await run({ gpuProvider: "existing" });
            assert.deepEqual(byType(r, NODE_GROUP), []);
            assert.deepEqual(byType(r, NODE_POOL), []);
            assert.equal(byType(r, RELEASE).length, 1);
            assert.equal(one(r, RELEASE).inputs.values.deviceListStrategy, "volume-mounts", "a pod could pick GPUs by setting NVIDIA_VISIBLE_DEVICES");
            assert.deepEqual(byType(r, RUNTIME_CLASS), []);
            assert.deepEqual(r.outputs.gpuScheduling, {
                nodeSelector: selector,
                tolerations: [toleration],
                requestsGpu: true,
                encoding: "nvenc",
                readyTimeout: "10m",
            });
        });

        it("creates RuntimeClass nvidia for containerd without nvidia as default, and runs the plugin and workloads under it", async () => {
            const r = await run({ gpuProvider: "existing", gpuRuntimeClass: "nvidia" });
            const runtime = one(r, RUNTIME_CLASS);
            assert.equal(runtime.inputs.metadata.name, "nvidia");
            const { apiVersion, kind, ...runtimeInputs } = runtime.inputs;
            assert.deepEqual([apiVersion, kind], ["node.k8s.io/v1", "RuntimeClass"]);
            assert.deepEqual(runtimeInputs, registered(nvidiaRuntimeClassInputs("nvidia")));
            usesClusterProvider(r, RUNTIME_CLASS);
            assert.equal(one(r, RELEASE).inputs.values.runtimeClassName, "nvidia");
            assert.equal((r.outputs.gpuScheduling as { runtimeClassName: string }).runtimeClassName, "nvidia");
        });

        it("uses a RuntimeClass the cluster already has (k3s ships one) without creating it", async () => {
            const r = await run({ gpuProvider: "existing", gpuRuntimeClass: "nvidia", gpuRuntimeClassCreate: false });
            assert.deepEqual(byType(r, RUNTIME_CLASS), []);
            assert.equal(one(r, RELEASE).inputs.values.runtimeClassName, "nvidia");
            assert.equal((r.outputs.gpuScheduling as { runtimeClassName: string }).runtimeClassName, "nvidia");
        });
    });

    describe("stack files", () => {
        it("dev runs without GPU nodes; staging (Spot) and prod (on demand) add an EKS GPU node group with the device plugin", async () => {
            const env = { GHCR_TOKEN: "test-double-token" };
            const dev = await runProgram({ stack: "dev", env });
            assert.equal(dev.error, undefined, dev.error?.message);
            assert.deepEqual(gpuResources(dev), []);
            for (const [stack, capacity] of [["staging", "SPOT"], ["prod", "ON_DEMAND"]]) {
                const r = await runProgram({ stack, env });
                assert.equal(r.error, undefined, r.error?.message);
                const group = one(r, NODE_GROUP);
                assert.equal(group.inputs.clusterName, `streamspace-${stack}`);
                assert.equal(group.inputs.capacityType, capacity, stack);
                assert.equal(group.inputs.scalingConfig.minSize, 0, `${stack} does not scale to zero`);
                assert.deepEqual(one(r, LAUNCH_TEMPLATE).inputs.metadataOptions, nodeMetadata, stack);
                assert.equal(one(r, LAUNCH_TEMPLATE).inputs.blockDeviceMappings[0].ebs.volumeSize, 100, `${stack}: the default gpuDiskSizeGb`);
                assert.equal(byType(r, RELEASE).length, 1, `${stack} has no device plugin`);
                assert.equal((r.outputs.gpuScheduling as { requestsGpu: boolean }).requestsGpu, true);
            }
        });
    });

    describe("bad configuration: a message naming the key, and nothing registered", () => {
        const cases: [string, Record<string, unknown>, string, RegExp][] = [
            ["unknown provider", { gpuProvider: "aks" }, "gpuProvider", /allowed: none, eks, gke, existing/],
            ["eks without its cluster", { ...eks, gpuEksClusterName: undefined }, "gpuEksClusterName", /required with gpuProvider eks/],
            ["eks without its node role", { ...eks, gpuEksNodeRoleArn: undefined }, "gpuEksNodeRoleArn", /IAM role/],
            ["eks without subnets", { ...eks, gpuEksSubnetIds: undefined }, "gpuEksSubnetIds", /subnets/],
            ["gke without its cluster", { ...gke, gpuGkeCluster: undefined }, "gpuGkeCluster", /required with gpuProvider gke/],
            ["gke without its location", { ...gke, gpuGkeLocation: undefined }, "gpuGkeLocation", /region or zone/],
            ["min above max", { ...eks, gpuMinNodes: 3, gpuMaxNodes: 2 }, "gpuMinNodes", /greater than gpuMaxNodes \(2\)/],
            ["negative size", { ...eks, gpuMinNodes: -1 }, "gpuMinNodes", /at least 0/],
            ["an A100 instance (p4d)", { ...eks, gpuInstanceType: "p4d.24xlarge" }, "gpuInstanceType", /A100.*no hardware video encoder/],
            ["an H100 instance (p5)", { ...eks, gpuInstanceType: "p5.48xlarge" }, "gpuInstanceType", /H100/],
            ["an AMD instance (g4ad)", { ...eks, gpuInstanceType: "g4ad.xlarge", gpuSoftwareEncoding: true }, "gpuInstanceType", /AMD.*not an NVIDIA GPU/],
            ["an A100 accelerator (a2)", { ...gke, gpuInstanceType: "a2-highgpu-1g", gpuAcceleratorType: "nvidia-tesla-a100" }, "gpuAcceleratorType", /no hardware video encoder/],
            ["an H200 accelerator (a3)", { ...gke, gpuInstanceType: "a3-ultragpu-8g", gpuAcceleratorType: "nvidia-h200-141gb" }, "gpuAcceleratorType", /H200/],
            ["a RuntimeClass on EKS", { ...eks, gpuRuntimeClass: "nvidia" }, "gpuRuntimeClass", /only used with gpuProvider existing/],
        ];
        for (const [name, config, key, message] of cases) {
            it(name, async () => {
                const r = await runProgram({ stack: "dev", config });
                assert.ok(r.error, "the program did not stop");
                assert.equal(r.error.name, "ConfigError");
                assert.match(r.error.message, new RegExp(`streamspace-images:${key} = `));
                assert.match(r.error.message, message);
                assert.deepEqual(r.resources.map((x) => `${x.type} ${x.name}`), [], "resources were registered despite the bad configuration");
            });
        }
    });
});
