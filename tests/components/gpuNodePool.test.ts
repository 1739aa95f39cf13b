import { strict as assert } from "assert";
import { DEVICE_PLUGIN_CHART_VERSION } from "../../config/gpu";
import { ProgramRun, byType, one, runProgram } from "../harness";

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
    describe("none", () => {
        it("creates no GPU resource and lets sessions run anywhere with software encoding", async () => {
            const r = await run({ gpuProvider: "none" });
            assert.deepEqual(gpuResources(r), []);
            assert.deepEqual(r.outputs.gpuScheduling, { nodeSelector: {}, tolerations: [], requestsGpu: false, encoding: "software" });
        });
    });

    describe("eks", () => {
        it("adds a managed node group of T4 nodes on the NVIDIA AMI, scaling from zero, on demand", async () => {
            const r = await run(eks);
            const group = one(r, NODE_GROUP);
            assert.equal(group.inputs.clusterName, "streamspace-staging");
            assert.equal(group.inputs.nodeRoleArn, eks.gpuEksNodeRoleArn);
            assert.deepEqual(group.inputs.subnetIds, eks.gpuEksSubnetIds);
            assert.equal(group.inputs.amiType, "AL2023_x86_64_NVIDIA");
            assert.deepEqual(group.inputs.instanceTypes, ["g4dn.xlarge"]);
            assert.equal(group.inputs.capacityType, "ON_DEMAND");
            assert.deepEqual(group.inputs.scalingConfig, { minSize: 0, maxSize: 2, desiredSize: 0 });
            assert.deepEqual(group.inputs.labels, selector);
            assert.deepEqual(group.inputs.taints, [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }]);
        });

        it("keeps pods from the node role's credentials: the node group uses the latest version of a launch template that requires IMDSv2 with hop limit 1", async () => {
            const r = await run(eks);
            const template = one(r, LAUNCH_TEMPLATE);
            assert.deepEqual(template.inputs.metadataOptions, nodeMetadata);
            const group = one(r, NODE_GROUP);
            // The harness's mocks give a resource the id <name>-id, and a new launch template version 1.
            assert.deepEqual(group.inputs.launchTemplate, { id: `${template.name}-id`, version: "1" });
            assert.deepEqual(group.propertyDependencies?.launchTemplate, [template.urn], "the node group does not take its launch template from the template resource");
        });

        it("sizes the root volume in the launch template (gp3), and sets no diskSize on the node group: EKS refuses both", async () => {
            const r = await run({ ...eks, gpuDiskSizeGb: 200 });
            const template = one(r, LAUNCH_TEMPLATE);
            assert.deepEqual(template.inputs.blockDeviceMappings, [
                { deviceName: "/dev/xvda", ebs: { volumeSize: 200, volumeType: "gp3", deleteOnTermination: "true" } },
            ]);
            assert.equal(one(r, NODE_GROUP).inputs.diskSize, undefined, "EKS rejects diskSize on a node group with a launch template");
            // The node group names the AMI type and instance types; EKS refuses a launch template that names them again.
            for (const field of ["imageId", "instanceType"]) {
                assert.equal(template.inputs[field], undefined, `the launch template sets ${field}`);
            }
        });

        it("sets the nodes' NVIDIA toolkit to take GPUs from the device plugin's volume mounts only, in the launch template's user data", async () => {
            const template = one(await run(eks), LAUNCH_TEMPLATE);
            const mime = Buffer.from(String(template.inputs.userData), "base64").toString("utf8");
            assert.match(mime, /^MIME-Version: 1\.0\nContent-Type: multipart\/mixed; boundary="==STREAMSPACE=="\n/);
            const part = /Content-Type: text\/x-shellscript; charset="us-ascii"\n\n([\s\S]*?)\n\n--==STREAMSPACE==--\n$/.exec(mime);
            assert.ok(part, `no shell-script part ending the MIME document:\n${mime}`);
            assert.match(part[1], /^#!\/bin\/bash\n/);
            assert.match(part[1], /nvidia-ctk config --in-place/);
            assert.match(part[1], /--set accept-nvidia-visible-devices-as-volume-mounts=true/);
            assert.match(part[1], /--set accept-nvidia-visible-devices-envvar-when-unprivileged=false/);
            // The script is valid bash.
            const check = require("child_process").spawnSync("bash", ["-n"], { input: part[1], encoding: "utf8" });
            assert.equal(check.status, 0, check.stderr);
        });

        it("tells the cluster autoscaler the label and taint of nodes it has not started (scale from zero)", async () => {
            const r = await run(eks);
            const tags = Object.fromEntries(byType(r, ASG_TAG).map((t) => [t.inputs.tag.key, t.inputs.tag]));
            assert.deepEqual(Object.keys(tags).sort(), [
                "k8s.io/cluster-autoscaler/node-template/label/streamspace.io/node-type",
                "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu",
            ]);
            assert.equal(tags["k8s.io/cluster-autoscaler/node-template/label/streamspace.io/node-type"].value, "gpu");
            assert.equal(tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"].value, "true:NoSchedule");
            assert.equal(one(r, NODE_GROUP).inputs.tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"], "true:NoSchedule");
        });

        it("takes Spot capacity, other sizes and instance types from config", async () => {
            const r = await run({ ...eks, gpuSpot: true, gpuInstanceType: "g6.2xlarge", gpuMinNodes: 1, gpuMaxNodes: 5, gpuDesiredNodes: 2 });
            const group = one(r, NODE_GROUP);
            assert.equal(group.inputs.capacityType, "SPOT");
            assert.deepEqual(group.inputs.instanceTypes, ["g6.2xlarge"]);
            assert.deepEqual(group.inputs.scalingConfig, { minSize: 1, maxSize: 5, desiredSize: 2 });
            assert.equal((r.outputs.gpuScheduling as { readyTimeout: string }).readyTimeout, "10m");
        });

        it("installs the pinned NVIDIA device plugin on the GPU nodes only, tolerating their taint", async () => {
            const r = await run(eks);
            const release = one(r, RELEASE);
            assert.equal(release.inputs.chart, "nvidia-device-plugin");
            assert.equal(release.inputs.version, DEVICE_PLUGIN_CHART_VERSION);
            assert.equal(release.inputs.repositoryOpts.repo, "https://nvidia.github.io/k8s-device-plugin");
            assert.equal(release.inputs.namespace, "nvidia-device-plugin");
            assert.deepEqual(release.inputs.values.nodeSelector, selector);
            assert.deepEqual(
                release.inputs.values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
                [{ matchExpressions: [{ key: "streamspace.io/node-type", operator: "In", values: ["gpu"] }] }],
            );
            assert.deepEqual(release.inputs.values.tolerations[0], toleration);
            assert.equal(release.inputs.values.runtimeClassName, undefined);
            assert.equal(release.inputs.values.deviceListStrategy, "volume-mounts", "a pod could pick GPUs by setting NVIDIA_VISIBLE_DEVICES");
            assert.equal(one(r, NAMESPACE, "gpu-device-plugin").inputs.metadata.name, "nvidia-device-plugin");
            assert.deepEqual(byType(r, RUNTIME_CLASS), [], "EKS's NVIDIA AMI needs no RuntimeClass");
            usesClusterProvider(r, RELEASE);
            usesClusterProvider(r, NAMESPACE);
        });

        it("leaves the device plugin out when the cluster already runs one", async () => {
            const r = await run({ ...eks, gpuDevicePlugin: false });
            assert.deepEqual(byType(r, RELEASE), []);
            assert.equal(byType(r, NODE_GROUP).length, 1);
        });

        it("exports the node selector and the toleration workloads must use, with a timeout for a node from zero", async () => {
            const r = await run(eks);
            assert.deepEqual(r.outputs.gpuScheduling, {
                nodeSelector: selector,
                tolerations: [toleration],
                requestsGpu: true,
                encoding: "nvenc",
                readyTimeout: "25m",
            });
        });

        it("accepts an A100 instance type when software encoding is intended, and says so to workloads", async () => {
            const r = await run({ ...eks, gpuInstanceType: "p4d.24xlarge", gpuSoftwareEncoding: true });
            assert.deepEqual(one(r, NODE_GROUP).inputs.instanceTypes, ["p4d.24xlarge"]);
            assert.equal((r.outputs.gpuScheduling as { encoding: string }).encoding, "software");
        });

        it("warns about an instance family it does not know, naming NVENC-capable ones, and goes on", async () => {
            const r = await run({ ...eks, gpuInstanceType: "g9x.xlarge" });
            assert.equal(byType(r, NODE_GROUP).length, 1);
            const warning = r.logs.find((l) => l.includes("g9x.xlarge"));
            assert.ok(warning, `no warning in ${JSON.stringify(r.logs)}`);
            assert.match(warning, /^warn: /);
            assert.match(warning, /g4dn \(NVIDIA T4\), g5 \(NVIDIA A10G\), g6 \(NVIDIA L4\), g6e \(NVIDIA L40S\)/);
        });

        it("logs no warning for a known NVENC-capable type", async () => {
            const r = await run(eks);
            assert.deepEqual(r.logs.filter((l) => l.startsWith("warn:") && /gpu/i.test(l)), []);
        });
    });

    describe("gke", () => {
        it("adds an autoscaling node pool of L4 nodes from zero, with the driver installed by GKE", async () => {
            const r = await run(gke);
            const pool = one(r, NODE_POOL);
            assert.equal(pool.inputs.cluster, "streamspace-prod");
            assert.equal(pool.inputs.location, "us-central1");
            assert.equal(pool.inputs.nodeConfig.machineType, "g2-standard-4");
            assert.deepEqual(pool.inputs.nodeConfig.guestAccelerators, [
                { type: "nvidia-l4", count: 1, gpuDriverInstallationConfig: { gpuDriverVersion: "DEFAULT" } },
            ]);
            assert.equal(pool.inputs.autoscaling.totalMinNodeCount, 0);
            assert.equal(pool.inputs.autoscaling.totalMaxNodeCount, 2);
            assert.equal(pool.inputs.initialNodeCount, 0);
            assert.equal(pool.inputs.nodeConfig.spot, false);
            assert.deepEqual(pool.inputs.nodeConfig.labels, selector);
            assert.deepEqual(pool.inputs.nodeConfig.taints, [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }]);
            assert.deepEqual(pool.inputs.management, { autoRepair: true, autoUpgrade: true });
            assert.equal(pool.inputs.nodeConfig.serviceAccount, undefined);
        });

        it("keeps the node service account's token from pods: the GKE metadata server, legacy metadata endpoints off", async () => {
            const pool = one(await run(gke), NODE_POOL);
            assert.deepEqual(pool.inputs.nodeConfig.workloadMetadataConfig, { mode: "GKE_METADATA" });
            assert.deepEqual(pool.inputs.nodeConfig.metadata, { "disable-legacy-endpoints": "true" });
        });

        it("uses Spot VMs, a T4 on N1, a project and a dedicated node service account from config", async () => {
            const r = await run({
                ...gke,
                gpuSpot: true,
                gpuInstanceType: "n1-standard-8",
                gpuAcceleratorType: "nvidia-tesla-t4",
                gpuGkeProject: "acme-streaming",
                gpuGkeServiceAccount: "gpu-nodes@acme-streaming.iam.gserviceaccount.com",
                gpuGkeDriverVersion: "LATEST",
            });
            const pool = one(r, NODE_POOL);
            assert.equal(pool.inputs.nodeConfig.spot, true);
            assert.equal(pool.inputs.autoscaling.locationPolicy, "ANY");
            assert.equal(pool.inputs.project, "acme-streaming");
            assert.equal(pool.inputs.nodeConfig.machineType, "n1-standard-8");
            assert.equal(pool.inputs.nodeConfig.guestAccelerators[0].type, "nvidia-tesla-t4");
            assert.equal(pool.inputs.nodeConfig.guestAccelerators[0].gpuDriverInstallationConfig.gpuDriverVersion, "LATEST");
            assert.equal(pool.inputs.nodeConfig.serviceAccount, "gpu-nodes@acme-streaming.iam.gserviceaccount.com");
        });

        it("installs no device plugin or RuntimeClass: GKE brings its own", async () => {
            const r = await run(gke);
            assert.deepEqual(byType(r, RELEASE), []);
            assert.deepEqual(byType(r, RUNTIME_CLASS), []);
        });

        it("exports a toleration that matches GKE's own nvidia.com/gpu=present taint as well as ours", async () => {
            const r = await run(gke);
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
            assert.equal(runtime.inputs.handler, "nvidia");
            assert.deepEqual(runtime.inputs.scheduling.nodeSelector, selector);
            assert.deepEqual(runtime.inputs.scheduling.tolerations, [toleration]);
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
