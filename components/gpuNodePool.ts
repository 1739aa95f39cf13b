import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    DevicePluginConfig,
    EksGpuConfig,
    GkeGpuConfig,
    GpuConfig,
    GpuScaling,
} from "../config/gpu";
import { GPU_NODE_LABEL, GPU_TAINT, NO_GPU, WorkloadScheduling } from "./workloadScheduling";

export { GPU_NODE_LABEL, GPU_TAINT };

export const EKS_GPU_AMI = "AL2023_x86_64_NVIDIA";
export const DEVICE_PLUGIN_CHART = "nvidia-device-plugin";
export const DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin";
export const DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin";
/** The root volume of the EKS NVIDIA AMI (Amazon Linux 2023). */
export const EKS_GPU_ROOT_DEVICE = "/dev/xvda";

// Sessions are browsers a user drives, with open egress: they must not reach the node's credentials.
// IMDSv2 only, and the token's reply limited to one hop: it ends at the node and never reaches a
// pod's network namespace. The endpoint stays on: the node's own agents (kubelet, VPC CNI) read it.
const EKS_NODE_METADATA: aws.types.input.ec2.LaunchTemplateMetadataOptions = {
    httpEndpoint: "enabled",
    httpTokens: "required",
    httpPutResponseHopLimit: 1,
};

/**
 * User data of the EKS GPU nodes (a MIME part the AMI's cloud-init runs before the node takes
 * pods): the NVIDIA Container Toolkit takes GPUs from the device plugin's volume mounts only, never
 * from an unprivileged pod's own NVIDIA_VISIBLE_DEVICES. The device plugin hands them over that way
 * (deviceListStrategy: volume-mounts); without this the toolkit's defaults would ignore the mounts.
 */
export const EKS_NODE_TOOLKIT_SCRIPT = [
    "#!/bin/bash",
    "set -euo pipefail",
    "nvidia-ctk config --in-place \\",
    "    --set accept-nvidia-visible-devices-as-volume-mounts=true \\",
    "    --set accept-nvidia-visible-devices-envvar-when-unprivileged=false",
].join("\n");

export function eksNodeUserData(): string {
    const mime = [
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="==STREAMSPACE=="',
        "",
        "--==STREAMSPACE==",
        'Content-Type: text/x-shellscript; charset="us-ascii"',
        "",
        EKS_NODE_TOOLKIT_SCRIPT,
        "",
        "--==STREAMSPACE==--",
        "",
    ].join("\n");
    return Buffer.from(mime, "utf8").toString("base64");
}

// A node group waits for its nodes to join; a GPU node from zero can take ~15 minutes.
const NODE_TIMEOUTS: pulumi.CustomTimeouts = { create: "30m", update: "30m", delete: "30m" };

// Tolerates the GPU taint whatever its value: ours is `true`, GKE adds `present` on its own.
const GPU_TOLERATION: k8s.types.input.core.v1.Toleration = {
    key: GPU_TAINT.key,
    operator: "Exists",
    effect: GPU_TAINT.effect,
};

/** The launch template of the EKS GPU nodes: metadata service, toolkit settings and root volume; instance type and AMI stay on the node group. */
export function eksLaunchTemplateInputs(config: EksGpuConfig): aws.ec2.LaunchTemplateArgs {
    return {
        description: "StreamSpace GPU session nodes: IMDSv2 only, not reachable from pods",
        metadataOptions: EKS_NODE_METADATA,
        userData: eksNodeUserData(),
        blockDeviceMappings: [
            {
                deviceName: EKS_GPU_ROOT_DEVICE,
                ebs: { volumeSize: config.diskSizeGb, volumeType: "gp3", deleteOnTermination: "true" },
            },
        ],
    };
}

/** The EKS managed node group of GPU nodes, labelled and tainted, on the given launch template (id and version). */
export function eksNodeGroupInputs(
    config: EksGpuConfig,
    launchTemplate: { id: pulumi.Input<string>; version: pulumi.Input<string> },
): aws.eks.NodeGroupArgs {
    return {
        clusterName: config.clusterName,
        nodeRoleArn: config.nodeRoleArn,
        subnetIds: config.subnetIds,
        amiType: EKS_GPU_AMI,
        instanceTypes: [config.instanceType],
        capacityType: config.spot ? "SPOT" : "ON_DEMAND",
        // EKS refuses diskSize next to a launch template: the root volume is set there.
        launchTemplate,
        scalingConfig: eksScaling(config.scaling),
        updateConfig: { maxUnavailable: 1 },
        labels: { [GPU_NODE_LABEL.key]: GPU_NODE_LABEL.value },
        taints: [{ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: "NO_SCHEDULE" }],
        tags: { "streamspace.io/pool": "gpu", ...autoscalerNodeTemplateTags() },
    };
}

/**
 * The tags of the node group's Auto Scaling group that tell the cluster autoscaler the label and
 * taint of a node it has not started (scale from zero), each with the suffix of its resource name.
 */
export function autoscalerTagInputs(autoscalingGroupName: pulumi.Input<string>): { suffix: "label" | "taint"; inputs: aws.autoscaling.TagArgs }[] {
    return Object.entries(autoscalerNodeTemplateTags()).map(([key, value]) => ({
        suffix: key.includes("/label/") ? "label" : "taint",
        inputs: { autoscalingGroupName, tag: { key, value, propagateAtLaunch: false } },
    }));
}

/** The GKE node pool of GPU nodes: autoscaling, the driver installed by GKE, the node's credentials kept from pods. */
export function gkeNodePoolInputs(config: GkeGpuConfig): gcp.container.NodePoolArgs {
    return {
        cluster: config.cluster,
        location: config.location,
        project: config.project,
        initialNodeCount: config.scaling.desired,
        autoscaling: {
            totalMinNodeCount: config.scaling.min,
            totalMaxNodeCount: config.scaling.max,
            // Spot capacity: take whichever zone has it, fewer preemptions.
            locationPolicy: config.spot ? "ANY" : "BALANCED",
        },
        management: { autoRepair: true, autoUpgrade: true },
        upgradeSettings: { maxSurge: 1, maxUnavailable: 0 },
        nodeConfig: {
            machineType: config.machineType,
            diskSizeGb: config.diskSizeGb,
            spot: config.spot,
            labels: { [GPU_NODE_LABEL.key]: GPU_NODE_LABEL.value },
            taints: [{ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: "NO_SCHEDULE" }],
            guestAccelerators: [
                {
                    type: config.accelerator.type,
                    count: config.accelerator.count,
                    gpuDriverInstallationConfig: { gpuDriverVersion: config.driverVersion },
                },
            ],
            // With a dedicated service account its IAM roles limit access; without one the
            // default scopes stay, as the Compute Engine default account is broad.
            ...(config.serviceAccount
                ? { serviceAccount: config.serviceAccount, oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"] }
                : {}),
            // Sessions have open egress: pods get the GKE metadata server, which withholds the
            // node service account's token, and the legacy (header-less) endpoints stay off.
            workloadMetadataConfig: { mode: "GKE_METADATA" },
            metadata: { "disable-legacy-endpoints": "true" },
        },
    };
}

/** RuntimeClass `runtimeClassName` for clusters whose containerd does not run nvidia by default. */
export function nvidiaRuntimeClassInputs(runtimeClassName: string): k8s.node.v1.RuntimeClassArgs {
    return {
        metadata: { name: runtimeClassName },
        // The containerd runtime handler the NVIDIA Container Toolkit registers.
        handler: "nvidia",
        scheduling: {
            nodeSelector: { [GPU_NODE_LABEL.key]: GPU_NODE_LABEL.value },
            tolerations: [GPU_TOLERATION],
        },
    };
}

/** The device plugin's namespace. */
export function devicePluginNamespaceInputs(): k8s.core.v1.NamespaceArgs {
    return {
        metadata: {
            name: DEVICE_PLUGIN_NAMESPACE,
            // The plugin mounts the kubelet's device-plugin socket directory from the host.
            labels: { "pod-security.kubernetes.io/enforce": "privileged" },
        },
    };
}

/**
 * The pinned NVIDIA device plugin chart in `namespace`, on the GPU nodes only, handing GPUs over as
 * volume mounts, under `runtimeClassName` where the nodes need one.
 */
export function devicePluginReleaseInputs(
    plugin: DevicePluginConfig,
    runtimeClassName: string | undefined,
    namespace: pulumi.Input<string>,
): k8s.helm.v3.ReleaseArgs {
    return {
        name: DEVICE_PLUGIN_CHART,
        chart: DEVICE_PLUGIN_CHART,
        version: plugin.version,
        repositoryOpts: { repo: DEVICE_PLUGIN_REPO },
        namespace,
        values: {
            nodeSelector: { [GPU_NODE_LABEL.key]: GPU_NODE_LABEL.value },
            // Replaces the chart's default affinity, which waits for node-feature-discovery labels.
            affinity: {
                nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                        nodeSelectorTerms: [{ matchExpressions: [{ key: GPU_NODE_LABEL.key, operator: "In", values: [GPU_NODE_LABEL.value] }] }],
                    },
                },
            },
            tolerations: [GPU_TOLERATION, { key: "CriticalAddonsOnly", operator: "Exists" }],
            // GPUs are handed over as volume mounts, so an unprivileged pod cannot pick GPUs
            // by setting NVIDIA_VISIBLE_DEVICES itself (the nodes' toolkit must accept them).
            deviceListStrategy: "volume-mounts",
            ...(runtimeClassName ? { runtimeClassName } : {}),
        },
        // A DaemonSet on zero nodes is ready at once; on running GPU nodes the wait proves
        // the plugin started. A failed install is rolled back rather than left half done.
        timeout: 600,
        atomic: true,
        cleanupOnFail: true,
    };
}

/** The RuntimeClass GPU workloads run under: only on existing clusters that name one. */
export function gpuRuntimeClassName(config: GpuConfig): string | undefined {
    return config.provider === "existing" ? config.runtimeClass?.name : undefined;
}

/**
 * How workloads land on the pool's GPU nodes: its label, a toleration of its taint, a GPU, the
 * RuntimeClass where there is one, and how long a node may take to be ready (longer from zero).
 */
export function gpuScheduling(config: GpuConfig): WorkloadScheduling {
    if (config.provider === "none") return NO_GPU;
    const runtimeClassName = gpuRuntimeClassName(config);
    const scalesFromZero = config.provider !== "existing" && config.scaling.min === 0;
    return {
        nodeSelector: { [GPU_NODE_LABEL.key]: GPU_NODE_LABEL.value },
        tolerations: [GPU_TOLERATION],
        requestsGpu: true,
        ...(runtimeClassName ? { runtimeClassName } : {}),
        encoding: config.encoding,
        readyTimeout: scalesFromZero ? "25m" : "10m",
    };
}

export interface GpuNodePoolArgs {
    /** The stack's GPU configuration, already validated. */
    config: GpuConfig;
    /** The cluster the device plugin and RuntimeClass are installed in. */
    kubernetes: k8s.Provider;
}

/**
 * The GPU nodes sessions run on: a managed node group (EKS) or node pool (GKE) on an existing
 * cluster, or GPU nodes that already exist (k3s, kubeadm), plus what Kubernetes needs to schedule
 * onto them. Every GPU node carries GPU_NODE_LABEL and GPU_TAINT; `scheduling` is the node selector
 * and tolerations a workload must use. The `none` provider creates nothing: sessions run anywhere
 * and encode in software.
 */
export class GpuNodePool extends pulumi.ComponentResource {
    /** How workloads land on a GPU node; plain values, known before anything is created. */
    public readonly scheduling: WorkloadScheduling;

    constructor(name: string, args: GpuNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
        super("streamspace:gpu:GpuNodePool", name, {}, opts);
        const { config } = args;
        this.scheduling = gpuScheduling(config);
        if (config.provider === "none") {
            this.registerOutputs({ scheduling: this.scheduling });
            return;
        }
        for (const warning of config.warnings) pulumi.log.warn(warning, this);

        if (config.provider === "eks") this.eksNodeGroup(name, config);
        if (config.provider === "gke") this.gkeNodePool(name, config);

        let runtimeClass: k8s.node.v1.RuntimeClass | undefined;
        if (config.provider === "existing" && config.runtimeClass?.create) {
            runtimeClass = new k8s.node.v1.RuntimeClass(`${name}-runtime`, nvidiaRuntimeClassInputs(config.runtimeClass.name), {
                parent: this,
                provider: args.kubernetes,
            });
        }
        // GKE installs its own device plugin with the driver; EKS's NVIDIA AMI and self-managed
        // nodes have the driver but not the plugin, so without it no pod could request a GPU.
        if (config.provider !== "gke" && config.devicePlugin) {
            this.devicePlugin(name, config.devicePlugin, gpuRuntimeClassName(config), args.kubernetes, runtimeClass);
        }
        this.registerOutputs({ scheduling: this.scheduling });
    }

    private eksNodeGroup(name: string, config: EksGpuConfig): void {
        // The metadata service settings, toolkit settings and root volume of the nodes.
        const template = new aws.ec2.LaunchTemplate(`${name}-launch-template`, eksLaunchTemplateInputs(config), { parent: this });
        const nodeGroup = new aws.eks.NodeGroup(
            name,
            eksNodeGroupInputs(config, { id: template.id, version: template.latestVersion.apply((v) => String(v)) }),
            {
                parent: this,
                customTimeouts: NODE_TIMEOUTS,
                // The cluster autoscaler owns the current size; an update must not reset it.
                ignoreChanges: ["scalingConfig.desiredSize"],
            },
        );
        // The cluster autoscaler reads node templates from the Auto Scaling group's tags when a
        // group has no node to copy from (scale from zero); EKS does not copy node group tags there.
        const groupName = nodeGroup.resources.apply((r) => r?.[0]?.autoscalingGroups?.[0]?.name ?? "");
        for (const { suffix, inputs } of autoscalerTagInputs(groupName)) {
            new aws.autoscaling.Tag(`${name}-autoscaler-${suffix}`, inputs, { parent: this });
        }
    }

    private gkeNodePool(name: string, config: GkeGpuConfig): void {
        new gcp.container.NodePool(name, gkeNodePoolInputs(config), {
            parent: this,
            customTimeouts: NODE_TIMEOUTS,
            // Changing it would replace the pool; the autoscaler owns the size after creation.
            ignoreChanges: ["initialNodeCount"],
        });
    }

    private devicePlugin(
        name: string,
        plugin: DevicePluginConfig,
        runtimeClassName: string | undefined,
        provider: k8s.Provider,
        runtimeClass: k8s.node.v1.RuntimeClass | undefined,
    ): void {
        const namespace = new k8s.core.v1.Namespace(`${name}-device-plugin`, devicePluginNamespaceInputs(), { parent: this, provider });
        new k8s.helm.v3.Release(`${name}-device-plugin`, devicePluginReleaseInputs(plugin, runtimeClassName, namespace.metadata.name), {
            parent: this,
            provider,
            dependsOn: runtimeClass ? [runtimeClass] : [],
        });
    }
}

function eksScaling(s: GpuScaling): aws.types.input.eks.NodeGroupScalingConfig {
    return { minSize: s.min, maxSize: s.max, desiredSize: s.desired };
}

/** Tags that tell the cluster autoscaler the label and taint of a node it has not started yet. */
function autoscalerNodeTemplateTags(): Record<string, string> {
    const prefix = "k8s.io/cluster-autoscaler/node-template";
    return {
        [`${prefix}/label/${GPU_NODE_LABEL.key}`]: GPU_NODE_LABEL.value,
        [`${prefix}/taint/${GPU_TAINT.key}`]: `${GPU_TAINT.value}:${GPU_TAINT.effect}`,
    };
}
