import {
    EKS_FAMILIES_WITHOUT_GPU,
    EKS_INSTANCE_FAMILIES,
    GKE_ACCELERATORS,
    GKE_FAMILIES_WITHOUT_GPU,
    GKE_MACHINE_FAMILIES,
    GpuHardware,
    eksInstanceFamily,
    gkeAcceleratorCounts,
    gkeMachineFamily,
    nvencChoices,
} from "../tables/gpuHardware";
import { z } from "zod";
import { boolean, integer, stringList, text } from "./fields";
import { SectionContext, defineSection } from "./section";

export const GPU_PROVIDERS = ["none", "eks", "gke", "existing"] as const;
export type GpuProvider = (typeof GPU_PROVIDERS)[number];

export const GKE_DRIVER_VERSIONS = ["DEFAULT", "LATEST"] as const;

/** Pinned release of the NVIDIA device plugin chart (https://nvidia.github.io/k8s-device-plugin). */
export const DEVICE_PLUGIN_CHART_VERSION = "0.20.0";

export const DEFAULT_EKS_INSTANCE_TYPE = "g4dn.xlarge";
export const DEFAULT_GKE_MACHINE_TYPE = "g2-standard-4";
export const DEFAULT_GKE_ACCELERATOR = "nvidia-l4";

export interface GpuScaling {
    min: number;
    max: number;
    /** Nodes at creation; the cluster autoscaler moves it between min and max afterwards. */
    desired: number;
}

/** How sessions on this pool encode video. */
export type VideoEncoding = "nvenc" | "software";

interface GpuPoolCommon {
    encoding: VideoEncoding;
    /** The GPU of the chosen type; undefined when the type is not in the hardware table. */
    hardware?: GpuHardware;
    /** Said to the user at deploy time (pulumi.log.warn): accepted, but worth a look. */
    warnings: string[];
}

export interface DevicePluginConfig {
    /** Chart version of nvidia-device-plugin. */
    version: string;
}

export interface NoGpuConfig {
    provider: "none";
}

export interface EksGpuConfig extends GpuPoolCommon {
    provider: "eks";
    clusterName: string;
    nodeRoleArn: string;
    subnetIds: string[];
    instanceType: string;
    scaling: GpuScaling;
    spot: boolean;
    diskSizeGb: number;
    /** Undefined when the cluster already runs a device plugin (gpuDevicePlugin false). */
    devicePlugin?: DevicePluginConfig;
}

export interface GkeGpuConfig extends GpuPoolCommon {
    provider: "gke";
    cluster: string;
    location: string;
    /** Undefined: the gcp provider's project (gcp:project). */
    project?: string;
    machineType: string;
    accelerator: { type: string; count: number };
    driverVersion: (typeof GKE_DRIVER_VERSIONS)[number];
    scaling: GpuScaling;
    spot: boolean;
    diskSizeGb: number;
    /** Node service account e-mail; undefined: the project's Compute Engine default account. */
    serviceAccount?: string;
}

export interface ExistingGpuConfig extends GpuPoolCommon {
    provider: "existing";
    devicePlugin?: DevicePluginConfig;
    /** RuntimeClass GPU pods run under; undefined when nvidia is containerd's default runtime. */
    runtimeClass?: { name: string; create: boolean };
}

export type GpuConfig = NoGpuConfig | EksGpuConfig | GkeGpuConfig | ExistingGpuConfig;

const eksInstanceTypePattern = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
const gkeMachineTypePattern = /^[a-z][a-z0-9]*-[a-z0-9-]+$/;
const roleArnPattern = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const subnetPattern = /^subnet-[0-9a-f]{8,17}$/;
const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const chartVersionPattern = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

export const gpuSection = defineSection({
    keys: {
        gpuProvider: text().default("none"),
        gpuInstanceType: text().optional(),
        gpuMinNodes: integer({ min: 0 }).default(0),
        gpuMaxNodes: integer({ min: 1 }).default(2),
        gpuDesiredNodes: integer({ min: 0 }).optional(),
        gpuSpot: boolean().default(false),
        gpuDiskSizeGb: integer({ min: 50, max: 2000 }).default(100),
        gpuSoftwareEncoding: boolean().default(false),
        gpuEksClusterName: text().optional(),
        gpuEksNodeRoleArn: text().optional(),
        gpuEksSubnetIds: stringList(text()).default([]),
        gpuGkeCluster: text().optional(),
        gpuGkeLocation: text().optional(),
        gpuGkeProject: text().optional(),
        gpuGkeServiceAccount: text().optional(),
        gpuAcceleratorType: text().default(DEFAULT_GKE_ACCELERATOR),
        gpuAcceleratorCount: integer({ min: 1, max: 16 }).default(1),
        gpuGkeDriverVersion: text().default("DEFAULT"),
        gpuDevicePlugin: boolean().default(true),
        gpuDevicePluginVersion: text().default(DEVICE_PLUGIN_CHART_VERSION),
        gpuRuntimeClass: text().optional(),
        gpuRuntimeClassCreate: boolean().default(true),
    },
    examples: {
        gpuProvider: "eks",
        gpuInstanceType: DEFAULT_EKS_INSTANCE_TYPE,
        gpuMinNodes: "0",
        gpuMaxNodes: "2",
        gpuDesiredNodes: "0",
        gpuSpot: "true",
        gpuDiskSizeGb: "100",
        gpuSoftwareEncoding: "true",
        gpuEksClusterName: "streamspace-staging",
        gpuEksNodeRoleArn: "arn:aws:iam::123456789012:role/streamspace-gpu-node",
        gpuEksSubnetIds: "[subnet-0a1b2c3d4e5f60718]",
        gpuGkeCluster: "streamspace-prod",
        gpuGkeLocation: "us-central1",
        gpuGkeProject: "my-gcp-project",
        gpuGkeServiceAccount: "gke-gpu-nodes@my-gcp-project.iam.gserviceaccount.com",
        gpuAcceleratorType: DEFAULT_GKE_ACCELERATOR,
        gpuAcceleratorCount: "1",
        gpuGkeDriverVersion: "DEFAULT",
        gpuDevicePlugin: "true",
        gpuDevicePluginVersion: DEVICE_PLUGIN_CHART_VERSION,
        gpuRuntimeClass: "nvidia",
        gpuRuntimeClassCreate: "true",
    },
    // Keys without a default are not declared in Pulumi.yaml (Pulumi requires every declared key
    // without a default on every stack); their descriptions live here.
    descriptions: {
        gpuInstanceType: "eks - EC2 instance type (default g4dn.xlarge, NVIDIA T4); gke - machine type (default g2-standard-4, one NVIDIA L4). GPUs without NVENC (A100, H100, H200) are refused unless gpuSoftwareEncoding is true.",
        gpuDesiredNodes: "eks, gke - nodes at creation, between gpuMinNodes and gpuMaxNodes; defaults to gpuMinNodes. The cluster autoscaler owns the size afterwards.",
        gpuEksClusterName: "eks (required) - name of the existing EKS cluster the GPU node group joins.",
        gpuEksNodeRoleArn: "eks (required) - ARN of the IAM role the GPU nodes run as (AmazonEKSWorkerNodePolicy, AmazonEC2ContainerRegistryReadOnly, AmazonEKS_CNI_Policy).",
        gpuGkeCluster: "gke (required) - name of the existing GKE cluster the GPU node pool joins.",
        gpuGkeLocation: "gke (required) - region or zone of the cluster, e.g. us-central1.",
        gpuGkeProject: "gke - Google Cloud project of the cluster; unset uses the gcp provider's project (gcp:project).",
        gpuGkeServiceAccount: "gke - e-mail of a dedicated service account for the GPU nodes (recommended); unset uses the Compute Engine default account with GKE's default scopes.",
        gpuRuntimeClass: "existing - RuntimeClass GPU pods run under (usually nvidia), for nodes whose containerd does not use the NVIDIA runtime by default. Unset - the default runtime.",
    },
    build(v, ctx): GpuConfig {
        if (!(GPU_PROVIDERS as readonly string[]).includes(v.gpuProvider)) {
            ctx.problem({
                key: "gpuProvider",
                value: v.gpuProvider,
                message: `unknown GPU provider; allowed: ${GPU_PROVIDERS.join(", ")}`,
            });
            return { provider: "none" };
        }
        const provider = v.gpuProvider as GpuProvider;
        if (provider === "none") return { provider };

        if (v.gpuRuntimeClass !== undefined && provider !== "existing") {
            ctx.problem({
                key: "gpuRuntimeClass",
                value: v.gpuRuntimeClass,
                message: `only used with gpuProvider existing: the ${provider === "eks" ? "EKS NVIDIA AMI" : "GKE node image"} already makes nvidia containerd's default runtime, and a RuntimeClass naming a handler the nodes lack stops every GPU pod from starting`,
                fix: `pulumi config rm gpuRuntimeClass --stack ${ctx.stack}`,
            });
        }
        if (v.gpuDevicePlugin && !chartVersionPattern.test(v.gpuDevicePluginVersion)) {
            ctx.problem({
                key: "gpuDevicePluginVersion",
                value: v.gpuDevicePluginVersion,
                message: "expected a chart version such as 0.20.0 (no 'v' prefix, no ranges: the version is pinned)",
                fix: ctx.setCommand("gpuDevicePluginVersion", DEVICE_PLUGIN_CHART_VERSION),
            });
        }
        const devicePlugin = v.gpuDevicePlugin ? { version: v.gpuDevicePluginVersion } : undefined;
        if (provider === "existing") return existingConfig(v, ctx, devicePlugin);
        if (provider === "eks") return eksConfig(v, ctx, devicePlugin);
        return gkeConfig(v, ctx);
    },
});

type GpuValues = z.infer<z.ZodObject<(typeof gpuSection)["keys"]>>;

/** GPU nodes already in the cluster: the device plugin and, where containerd needs one, a RuntimeClass. */
function existingConfig(v: GpuValues, ctx: SectionContext, devicePlugin: ExistingGpuConfig["devicePlugin"]): ExistingGpuConfig {
    let runtimeClass: ExistingGpuConfig["runtimeClass"];
    if (v.gpuRuntimeClass !== undefined) {
        if (!dnsLabelPattern.test(v.gpuRuntimeClass)) {
            ctx.problem({
                key: "gpuRuntimeClass",
                value: v.gpuRuntimeClass,
                message: "a RuntimeClass name is a DNS label: lowercase letters, digits and '-', at most 63 characters",
            });
        }
        runtimeClass = { name: v.gpuRuntimeClass, create: v.gpuRuntimeClassCreate };
    }
    // The program cannot see which GPUs the labelled nodes carry: docs/gpu-pools.md says what to check.
    return { provider: "existing", devicePlugin, runtimeClass, encoding: encodingOf(v.gpuSoftwareEncoding), warnings: [] };
}

/** A managed node group on an existing EKS cluster. */
function eksConfig(v: GpuValues, ctx: SectionContext, devicePlugin: EksGpuConfig["devicePlugin"]): EksGpuConfig {
    const scaling = checkScaling(v, ctx);
    const instanceType = v.gpuInstanceType ?? DEFAULT_EKS_INSTANCE_TYPE;
    requireKeys(ctx, "eks", {
        gpuEksClusterName: [v.gpuEksClusterName, "the name of the existing EKS cluster the node group joins"],
        gpuEksNodeRoleArn: [v.gpuEksNodeRoleArn, "the ARN of the IAM role the GPU nodes run as"],
        gpuEksSubnetIds: [v.gpuEksSubnetIds.length > 0 ? v.gpuEksSubnetIds : undefined, "the subnets (of the cluster's VPC) the GPU nodes are placed in"],
    });
    if (v.gpuEksNodeRoleArn !== undefined && !roleArnPattern.test(v.gpuEksNodeRoleArn)) {
        ctx.problem({
            key: "gpuEksNodeRoleArn",
            value: v.gpuEksNodeRoleArn,
            message: "expected an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>",
        });
    }
    v.gpuEksSubnetIds.forEach((id, i) => {
        if (!subnetPattern.test(id)) {
            ctx.problem({
                key: "gpuEksSubnetIds",
                value: JSON.stringify(v.gpuEksSubnetIds),
                message: `'${id}' is not a subnet id; expected subnet- followed by 8 or 17 hex digits`,
                fix: `pulumi config set --path 'gpuEksSubnetIds[${i}]' subnet-0a1b2c3d4e5f60718 --stack ${ctx.stack}`,
            });
        }
    });
    const hardware = checkEksInstanceType(instanceType, v.gpuSoftwareEncoding, ctx);
    return {
        provider: "eks",
        clusterName: v.gpuEksClusterName ?? "",
        nodeRoleArn: v.gpuEksNodeRoleArn ?? "",
        subnetIds: v.gpuEksSubnetIds,
        instanceType,
        scaling,
        spot: v.gpuSpot,
        diskSizeGb: v.gpuDiskSizeGb,
        devicePlugin,
        encoding: encodingOf(v.gpuSoftwareEncoding),
        hardware,
        warnings: hardware
            ? []
            : [`gpuInstanceType ${instanceType}: the instance family '${eksInstanceFamily(instanceType)}' is not in the GPU table, so whether it has a hardware video encoder (NVENC) is not checked. NVENC-capable families: ${nvencChoices(EKS_INSTANCE_FAMILIES)}.`],
    };
}

/** A node pool on an existing GKE cluster (GKE installs the driver and the device plugin). */
function gkeConfig(v: GpuValues, ctx: SectionContext): GkeGpuConfig {
    const scaling = checkScaling(v, ctx);
    const machineType = v.gpuInstanceType ?? DEFAULT_GKE_MACHINE_TYPE;
    requireKeys(ctx, "gke", {
        gpuGkeCluster: [v.gpuGkeCluster, "the name of the existing GKE cluster the node pool joins"],
        gpuGkeLocation: [v.gpuGkeLocation, "the cluster's region or zone, e.g. us-central1"],
    });
    if (!(GKE_DRIVER_VERSIONS as readonly string[]).includes(v.gpuGkeDriverVersion)) {
        ctx.problem({
            key: "gpuGkeDriverVersion",
            value: v.gpuGkeDriverVersion,
            message: `allowed: ${GKE_DRIVER_VERSIONS.join(", ")} (GKE installs that driver on every GPU node)`,
        });
    }
    const { hardware, warnings } = checkGkeMachine(machineType, v.gpuAcceleratorType, v.gpuAcceleratorCount, v.gpuSoftwareEncoding, ctx);
    return {
        provider: "gke",
        cluster: v.gpuGkeCluster ?? "",
        location: v.gpuGkeLocation ?? "",
        project: v.gpuGkeProject,
        machineType,
        accelerator: { type: v.gpuAcceleratorType, count: v.gpuAcceleratorCount },
        driverVersion: v.gpuGkeDriverVersion as GkeGpuConfig["driverVersion"],
        scaling,
        spot: v.gpuSpot,
        diskSizeGb: v.gpuDiskSizeGb,
        serviceAccount: v.gpuGkeServiceAccount,
        encoding: encodingOf(v.gpuSoftwareEncoding),
        hardware,
        warnings,
    };
}

function encodingOf(softwareEncoding: boolean): VideoEncoding {
    return softwareEncoding ? "software" : "nvenc";
}

/** One problem per required key that is missing, each naming what the key is for. */
function requireKeys(ctx: SectionContext, provider: GpuProvider, keys: Record<string, [unknown, string]>): void {
    for (const [key, [value, meaning]] of Object.entries(keys)) {
        if (value === undefined || value === "") {
            ctx.problem({ key, message: `required with gpuProvider ${provider}: ${meaning}` });
        }
    }
}

function checkScaling(
    v: { gpuMinNodes: number; gpuMaxNodes: number; gpuDesiredNodes?: number },
    ctx: SectionContext,
): GpuScaling {
    const desired = v.gpuDesiredNodes ?? v.gpuMinNodes;
    if (v.gpuMinNodes > v.gpuMaxNodes) {
        ctx.problem({
            key: "gpuMinNodes",
            value: v.gpuMinNodes,
            message: `is greater than gpuMaxNodes (${v.gpuMaxNodes}); the pool scales between gpuMinNodes and gpuMaxNodes`,
            fix: `${ctx.setCommand("gpuMinNodes", "0")}  (or raise gpuMaxNodes)`,
        });
    } else if (desired < v.gpuMinNodes || desired > v.gpuMaxNodes) {
        ctx.problem({
            key: "gpuDesiredNodes",
            value: desired,
            message: `must lie between gpuMinNodes (${v.gpuMinNodes}) and gpuMaxNodes (${v.gpuMaxNodes})`,
            fix: ctx.setCommand("gpuDesiredNodes", String(v.gpuMinNodes)),
        });
    }
    return { min: v.gpuMinNodes, max: v.gpuMaxNodes, desired };
}

function noEncoderMessage(what: string, model: string, choices: string): string {
    return `${what} an ${model}, which has no hardware video encoder (NVENC): sessions could only encode on the CPU. NVENC-capable choices: ${choices}. If software encoding is intended, set gpuSoftwareEncoding true`;
}

function checkEksInstanceType(instanceType: string, softwareEncoding: boolean, ctx: SectionContext): GpuHardware | undefined {
    if (!eksInstanceTypePattern.test(instanceType)) {
        ctx.problem({
            key: "gpuInstanceType",
            value: instanceType,
            message: `expected an EC2 instance type such as ${DEFAULT_EKS_INSTANCE_TYPE} (<family>.<size>)`,
            fix: ctx.setCommand("gpuInstanceType", DEFAULT_EKS_INSTANCE_TYPE),
        });
        return undefined;
    }
    const family = eksInstanceFamily(instanceType);
    const gpu = EKS_INSTANCE_FAMILIES[family];
    const fix = `${ctx.setCommand("gpuInstanceType", DEFAULT_EKS_INSTANCE_TYPE)}`;
    if (!gpu && EKS_FAMILIES_WITHOUT_GPU.test(family)) {
        ctx.problem({
            key: "gpuInstanceType",
            value: instanceType,
            message: `${family} instances carry no GPU: the pool's nodes would never offer nvidia.com/gpu and the session would wait forever. GPU families with NVENC: ${nvencChoices(EKS_INSTANCE_FAMILIES)}`,
            fix,
        });
        return undefined;
    }
    if (!gpu) return undefined;
    if (gpu.vendor !== "nvidia") {
        ctx.problem({
            key: "gpuInstanceType",
            value: instanceType,
            message: `${family} instances carry an ${gpu.model}, not an NVIDIA GPU: the NVIDIA node image and device plugin do not apply and it has no NVENC. NVENC-capable families: ${nvencChoices(EKS_INSTANCE_FAMILIES)}`,
            fix,
        });
    } else if (gpu.arch === "arm64") {
        ctx.problem({
            key: "gpuInstanceType",
            value: instanceType,
            message: `${family} instances are arm64 (Graviton); the pool uses the x86_64 NVIDIA node image and the session images it tests are amd64. NVENC-capable x86_64 families: ${nvencChoices(EKS_INSTANCE_FAMILIES)}`,
            fix,
        });
    } else if (!gpu.nvenc && !softwareEncoding) {
        ctx.problem({
            key: "gpuInstanceType",
            value: instanceType,
            message: noEncoderMessage(`${family} instances carry`, gpu.model, nvencChoices(EKS_INSTANCE_FAMILIES)),
            fix: `${fix}  (or: ${ctx.setCommand("gpuSoftwareEncoding", "true")})`,
        });
    }
    return gpu;
}

function checkGkeMachine(
    machineType: string,
    acceleratorType: string,
    acceleratorCount: number,
    softwareEncoding: boolean,
    ctx: SectionContext,
): { hardware?: GpuHardware; warnings: string[] } {
    const warnings: string[] = [];
    if (!gkeMachineTypePattern.test(machineType)) {
        ctx.problem({
            key: "gpuInstanceType",
            value: machineType,
            message: `expected a Compute Engine machine type such as ${DEFAULT_GKE_MACHINE_TYPE}`,
            fix: ctx.setCommand("gpuInstanceType", DEFAULT_GKE_MACHINE_TYPE),
        });
    } else if (GKE_FAMILIES_WITHOUT_GPU.includes(gkeMachineFamily(machineType))) {
        ctx.problem({
            key: "gpuInstanceType",
            value: machineType,
            message: `${gkeMachineFamily(machineType)} machines take no GPU: GKE refuses an accelerator on them. Machines with GPUs: g2 (NVIDIA L4, such as ${DEFAULT_GKE_MACHINE_TYPE}), n1 with an attached T4`,
            fix: `${ctx.setCommand("gpuInstanceType", DEFAULT_GKE_MACHINE_TYPE)} && ${ctx.setCommand("gpuAcceleratorType", DEFAULT_GKE_ACCELERATOR)}`,
        });
    } else {
        const family = gkeMachineFamily(machineType);
        const carries = GKE_MACHINE_FAMILIES[family];
        if (carries === undefined) {
            warnings.push(`gpuInstanceType ${machineType}: the machine family '${family}' is not in the GPU table, so whether it takes ${acceleratorType} is not checked.`);
        } else if (!carries.includes(acceleratorType)) {
            ctx.problem({
                key: "gpuAcceleratorType",
                value: acceleratorType,
                message: `${family} machines (gpuInstanceType ${machineType}) take ${carries.join(" or ")}`,
                fix: `${ctx.setCommand("gpuAcceleratorType", carries[0])}  (or: ${ctx.setCommand("gpuInstanceType", DEFAULT_GKE_MACHINE_TYPE)} and ${DEFAULT_GKE_ACCELERATOR})`,
            });
        }
    }
    const gpu = GKE_ACCELERATORS[acceleratorType];
    if (!gpu) {
        warnings.push(`gpuAcceleratorType ${acceleratorType} is not in the GPU table, so whether it has a hardware video encoder (NVENC) is not checked. NVENC-capable accelerators: ${nvencChoices(GKE_ACCELERATORS)}.`);
    } else if (!gpu.nvenc && !softwareEncoding) {
        ctx.problem({
            key: "gpuAcceleratorType",
            value: acceleratorType,
            message: noEncoderMessage(`accelerator ${acceleratorType} is`, gpu.model, `${nvencChoices(GKE_ACCELERATORS)}; L4 comes with g2 machines such as ${DEFAULT_GKE_MACHINE_TYPE}, T4 attaches to n1 machines`),
            fix: `${ctx.setCommand("gpuAcceleratorType", DEFAULT_GKE_ACCELERATOR)} && ${ctx.setCommand("gpuInstanceType", DEFAULT_GKE_MACHINE_TYPE)}  (or: ${ctx.setCommand("gpuSoftwareEncoding", "true")})`,
        });
    }
    const counts = gkeMachineTypePattern.test(machineType) ? gkeAcceleratorCounts(machineType) : undefined;
    if (counts !== undefined && !counts.includes(acceleratorCount)) {
        ctx.problem({
            key: "gpuAcceleratorCount",
            value: String(acceleratorCount),
            message: `${machineType} comes with ${counts.length === 1 ? counts[0] : `${counts.join(", ")} (one of these)`} accelerator${counts.length === 1 && counts[0] === 1 ? "" : "s"}; GKE refuses any other count`,
            fix: ctx.setCommand("gpuAcceleratorCount", String(counts[0])),
        });
    }
    return { hardware: gpu, warnings };
}
