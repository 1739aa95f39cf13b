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

const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const NODE_METADATA = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 };

/** The EKS GPU pool as the program builds it: a node group built from a launch template's id and version. */
function eksPool(metadataOptions: Record<string, unknown> | undefined): AdaptedResource[] {
    const template: AdaptedResource = { type: LAUNCH_TEMPLATE, name: "gpu-launch-template", props: metadataOptions ? { metadataOptions } : {} };
    const group = eksGroup(0);
    group.props!.launchTemplate = { id: "lt-0123456789abcdef0", version: "1" };
    group.propertyDependencies = { launchTemplate: [urnOf(template)] };
    return [template, group];
}

function gkePool(nodeConfig: Record<string, unknown> = {}): AdaptedResource {
    return { type: "gcp:container/nodePool:NodePool", name: "gpu", props: { nodeConfig: { labels: GPU_LABELS, ...nodeConfig }, autoscaling: { totalMinNodeCount: 0 } } };
}

const EKS_FIX = /metadataOptions \{ httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" \}/;

describe("policy: gpu-pool-node-metadata (mandatory, stack)", () => {
    const check = (resources: AdaptedResource[]) => stackViolations("gpu-pool-node-metadata", resources, {});

    it("accepts an EKS node group whose launch template requires IMDSv2 with hop limit 1, and a GKE pool on the GKE metadata server, without any stack facts", async () => {
        assertNoViolation(await check(eksPool(NODE_METADATA)));
        assertNoViolation(await check([gkePool({ workloadMetadataConfig: { mode: "GKE_METADATA" } })]));
    });

    it("refuses an EKS GPU node group without a launch template, against the node group", async () => {
        const group = eksGroup(0);
        const v = assertOneViolation(await check([group]), 'aws.NodeGroup "gpu"', /has no launch template.*nothing in the stack keeps pods from the node role's credentials/, EKS_FIX);
        assert.equal(v.urn, urnOf(group));
        assert.match(v.message, /referenced as launchTemplate \{ id: template\.id, version: template\.latestVersion \}/);
    });

    it("refuses a launch template that allows IMDSv1, naming the field and the template", async () => {
        const v = await check(eksPool({ ...NODE_METADATA, httpTokens: "optional" }));
        assertOneViolation(v, 'aws.NodeGroup "gpu"', /launch template aws\.LaunchTemplate "gpu-launch-template", where metadataOptions\.httpTokens is optional, not "required"/, /set metadataOptions \{ httpTokens: "required".*\} in aws\.LaunchTemplate "gpu-launch-template"/);
    });

    it("refuses a launch template whose metadata token reaches pods (hop limit 2)", async () => {
        const v = await check(eksPool({ ...NODE_METADATA, httpPutResponseHopLimit: 2 }));
        assertOneViolation(v, 'aws.NodeGroup "gpu"', /metadataOptions\.httpPutResponseHopLimit is 2, not 1/, EKS_FIX);
        assert.doesNotMatch(v[0].message, /httpTokens is/, "httpTokens is compliant and should not be named");
    });

    it("refuses a launch template without metadata options, naming both fields in one violation", async () => {
        const v = await check(eksPool(undefined));
        assertOneViolation(v, 'aws.NodeGroup "gpu"', /httpTokens is unset, not "required".* and metadataOptions\.httpPutResponseHopLimit is unset, not 1/, EKS_FIX);
    });

    it("refuses a launch template this stack does not create: it cannot be checked", async () => {
        const [, group] = eksPool(NODE_METADATA);
        assertOneViolation(await check([group]), 'aws.NodeGroup "gpu"', /uses a launch template this stack does not create/, /created in this program/);
    });

    it("refuses a GKE GPU pool without the GKE metadata server, or on GCE_METADATA, naming the field and Workload Identity", async () => {
        const fix = /nodeConfig\.workloadMetadataConfig \{ mode: "GKE_METADATA" \}.*--workload-pool=<project>\.svc\.id\.goog/;
        assertOneViolation(await check([gkePool()]), 'gcp.NodePool "gpu"', /nodeConfig\.workloadMetadataConfig\.mode is unset, not GKE_METADATA.*node service account's token/, fix);
        assertOneViolation(await check([gkePool({ workloadMetadataConfig: { mode: "GCE_METADATA" } })]), 'gcp.NodePool "gpu"', /mode is GCE_METADATA, not GKE_METADATA/, fix);
    });

    it("leaves node groups and pools that are not the GPU pool alone: sessions run only there", async () => {
        assertNoViolation(await check([eksGroup(1, { role: "system" }), { ...gkePool(), props: { nodeConfig: { labels: { role: "system" } } } }]));
    });
});
