import { GPU_NODE_LABEL } from "../../components/workloadScheduling";
import { StackFacts } from "../facts";
import { StackResource, StackViolation, describe, violation } from "../resources";

const EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const GKE_NODE_POOL = "gcp:container/nodePool:NodePool";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

/** Which kind of GPU pool a resource is (by the GPU label its nodes get), or undefined for any other resource. */
function gpuPoolKind(resource: StackResource): "eks" | "gke" | undefined {
    const p = resource.props;
    if (resource.type === EKS_NODE_GROUP && p.labels?.[GPU_NODE_LABEL.key] === GPU_NODE_LABEL.value) return "eks";
    if (resource.type === GKE_NODE_POOL && p.nodeConfig?.labels?.[GPU_NODE_LABEL.key] === GPU_NODE_LABEL.value) return "gke";
    return undefined;
}

/** The fewest nodes a GPU pool keeps, and where that number is set; undefined for resources that are no GPU pool. */
function gpuPoolMinimum(resource: StackResource): { min: number | undefined; field: string } | undefined {
    const p = resource.props;
    const kind = gpuPoolKind(resource);
    if (kind === "eks") {
        return { min: p.scalingConfig?.minSize, field: "scalingConfig.minSize" };
    }
    if (kind === "gke") {
        if (!p.autoscaling) return { min: p.nodeCount ?? p.initialNodeCount, field: "nodeCount (no autoscaling)" };
        return { min: p.autoscaling.totalMinNodeCount ?? p.autoscaling.minNodeCount, field: "autoscaling.totalMinNodeCount" };
    }
    return undefined;
}

/** Outside production, GPU nodes run only while a session needs one. */
export function gpuPoolScalesToZero(
    resources: StackResource[],
    facts: Pick<StackFacts, "stack" | "production" | "allowWarmGpuNodes">,
): StackViolation[] {
    if (facts.production || facts.allowWarmGpuNodes) return [];
    const out: StackViolation[] = [];
    for (const resource of resources) {
        const pool = gpuPoolMinimum(resource);
        if (!pool || pool.min === 0) continue;
        out.push({
            urn: resource.urn,
            message: violation(
                describe(resource),
                `keeps ${pool.min ?? "an unknown number of"} GPU node(s) running (${pool.field}) in the non-prod stack ${facts.stack}, paid for by the hour whether or not a session runs`,
                `let the pool scale to zero: pulumi config set gpuMinNodes 0 --stack ${facts.stack} (a node then starts within ~15 minutes when a session needs it); to keep warm nodes on purpose: pulumi config set policyAllowWarmGpuNodes true --stack ${facts.stack}`,
            ),
        });
    }
    return out;
}

/** Why a pool's pods can read its nodes' credentials, and how to stop it. */
interface Exposure {
    what: string;
    fix: string;
}

const EKS_METADATA_OPTIONS = 'metadataOptions { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" }';
const EKS_METADATA_FIX = `give the node group an aws.ec2.LaunchTemplate created in this program with ${EKS_METADATA_OPTIONS}, referenced as launchTemplate { id: template.id, version: template.latestVersion } (as components/gpuNodePool.ts does)`;
const CREDENTIALS_REACHABLE = "pods can fetch the node role's credentials from the instance metadata service";

/**
 * The launch template a node group was given. The engine records which resources the node group's
 * launchTemplate input was built from; an id would not do, as a new template has none during preview.
 */
function launchTemplateOf(group: StackResource, byUrn: Map<string, StackResource>): StackResource | undefined {
    const urns = group.propertyDependencies?.launchTemplate ?? [];
    return urns.map((urn) => byUrn.get(urn)).find((r) => r?.type === LAUNCH_TEMPLATE);
}

/** The metadata options of a launch template that let pods reach the instance metadata service. */
function openMetadataOptions(template: StackResource): string[] {
    const options = template.props.metadataOptions ?? {};
    const open: string[] = [];
    if (options.httpTokens !== "required") open.push(`metadataOptions.httpTokens is ${options.httpTokens ?? "unset"}, not "required" (IMDSv1 answers without a token)`);
    if (options.httpPutResponseHopLimit !== 1) open.push(`metadataOptions.httpPutResponseHopLimit is ${options.httpPutResponseHopLimit ?? "unset"}, not 1 (the token reaches pods)`);
    return open;
}

function eksMetadataExposure(group: StackResource, byUrn: Map<string, StackResource>): Exposure | undefined {
    if (group.props.launchTemplate === undefined) {
        return { what: "has no launch template, so its nodes keep whatever metadata settings EKS and the AMI default to, and nothing in the stack keeps pods from the node role's credentials", fix: EKS_METADATA_FIX };
    }
    const template = launchTemplateOf(group, byUrn);
    if (!template) {
        return { what: "uses a launch template this stack does not create, so whether it requires IMDSv2 with hop limit 1 cannot be checked", fix: EKS_METADATA_FIX };
    }
    const open = openMetadataOptions(template);
    if (open.length === 0) return undefined;
    return { what: `uses the launch template ${describe(template)}, where ${open.join(" and ")}: ${CREDENTIALS_REACHABLE}`, fix: `set ${EKS_METADATA_OPTIONS} in ${describe(template)}` };
}

function gkeMetadataExposure(pool: StackResource): Exposure | undefined {
    const mode = pool.props.nodeConfig?.workloadMetadataConfig?.mode;
    if (mode === "GKE_METADATA") return undefined;
    return {
        what: `runs without the GKE metadata server (nodeConfig.workloadMetadataConfig.mode is ${mode ?? "unset"}, not GKE_METADATA): pods can read the node service account's token from the Compute Engine metadata server`,
        fix: 'set nodeConfig.workloadMetadataConfig { mode: "GKE_METADATA" } (as components/gpuNodePool.ts does); the cluster needs Workload Identity: gcloud container clusters update <cluster> --location <location> --workload-pool=<project>.svc.id.goog',
    };
}

/** Session pods are browsers with open egress: they must not read the credentials of the GPU node they run on. */
export function gpuPoolNodeMetadata(resources: StackResource[]): StackViolation[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const out: StackViolation[] = [];
    for (const resource of resources) {
        const kind = gpuPoolKind(resource);
        const exposure = kind === "eks" ? eksMetadataExposure(resource, byUrn) : kind === "gke" ? gkeMetadataExposure(resource) : undefined;
        if (exposure) out.push({ urn: resource.urn, message: violation(describe(resource), exposure.what, exposure.fix) });
    }
    return out;
}
