import { GPU_NODE_LABEL } from "../../components/workloadScheduling";
import { StackFacts } from "../facts";
import { StackResource, StackViolation, describe, violation } from "../resources";

const EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const GKE_NODE_POOL = "gcp:container/nodePool:NodePool";

/** The fewest nodes a GPU pool keeps, and where that number is set; undefined for resources that are no GPU pool. */
function gpuPoolMinimum(resource: StackResource): { min: number | undefined; field: string } | undefined {
    const p = resource.props;
    if (resource.type === EKS_NODE_GROUP && p.labels?.[GPU_NODE_LABEL.key] === GPU_NODE_LABEL.value) {
        return { min: p.scalingConfig?.minSize, field: "scalingConfig.minSize" };
    }
    if (resource.type === GKE_NODE_POOL && p.nodeConfig?.labels?.[GPU_NODE_LABEL.key] === GPU_NODE_LABEL.value) {
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
