import { strict as assert } from "assert";
import { assertNoViolation, assertOneViolation } from "./assertions";
import { CONFIG, configWith } from "./fixtures";
import { AdaptedResource, stackViolations, urnOf } from "./policyArgsAdapter";

const GPU_LABELS = { "streamspace.io/node-type": "gpu" };

function eksGroup(minSize: number, labels: Record<string, string> = GPU_LABELS): AdaptedResource {
    return { type: "aws:eks/nodeGroup:NodeGroup", name: "gpu", props: { labels, scalingConfig: { minSize, maxSize: 2, desiredSize: minSize } } };
}

describe("policy: gpu-pool-scales-to-zero (advisory, stack)", () => {
    it("accepts an EKS GPU node group that scales to zero", async () => {
        assertNoViolation(await stackViolations("gpu-pool-scales-to-zero", [eksGroup(0)], CONFIG));
    });
    it("flags a warm EKS GPU node group in a non-prod stack, against that resource", async () => {
        const v = await stackViolations("gpu-pool-scales-to-zero", [eksGroup(1)], CONFIG);
        const found = assertOneViolation(v, 'aws.NodeGroup "gpu"', /keeps 1 GPU node\(s\) running \(scalingConfig\.minSize\) in the non-prod stack test/, /pulumi config set gpuMinNodes 0 --stack test.*policyAllowWarmGpuNodes true/);
        assert.equal(found.urn, urnOf(eksGroup(1)));
    });
    it("flags a GKE GPU pool with a minimum, or without autoscaling", async () => {
        const autoscaled = { type: "gcp:container/nodePool:NodePool", name: "gpu", props: { nodeConfig: { labels: GPU_LABELS }, autoscaling: { totalMinNodeCount: 2, totalMaxNodeCount: 4 } } };
        assertOneViolation(await stackViolations("gpu-pool-scales-to-zero", [autoscaled], CONFIG), 'gcp.NodePool "gpu"', /keeps 2 GPU node\(s\) running \(autoscaling\.totalMinNodeCount\)/, /gpuMinNodes 0/);
        const fixed = { type: "gcp:container/nodePool:NodePool", name: "gpu", props: { nodeConfig: { labels: GPU_LABELS }, nodeCount: 1 } };
        assertOneViolation(await stackViolations("gpu-pool-scales-to-zero", [fixed], CONFIG), 'gcp.NodePool "gpu"', /keeps 1 GPU node\(s\) running \(nodeCount \(no autoscaling\)\)/, /gpuMinNodes 0/);
    });
    it("leaves prod, stacks that allow warm nodes, and node groups that are not the GPU pool alone", async () => {
        assertNoViolation(await stackViolations("gpu-pool-scales-to-zero", [eksGroup(1)], configWith({ production: true })));
        assertNoViolation(await stackViolations("gpu-pool-scales-to-zero", [eksGroup(1)], configWith({ allowWarmGpuNodes: true })));
        assertNoViolation(await stackViolations("gpu-pool-scales-to-zero", [eksGroup(3, { role: "system" })], CONFIG));
    });
});
