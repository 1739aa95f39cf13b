import { strict as assert } from "assert";
import { ConfigError, Problem, parseStackConfig } from "../../config";
import { DEVICE_PLUGIN_CHART_VERSION, EksGpuConfig, ExistingGpuConfig, GkeGpuConfig } from "../../config/gpu";

const imageNames = ["selkies-base", "chrome-selkies"];
const local = { registryServer: "localhost:5001" };
const eks = {
    gpuProvider: "eks",
    gpuEksClusterName: "streamspace-staging",
    gpuEksNodeRoleArn: "arn:aws:iam::123456789012:role/streamspace-gpu-node",
    gpuEksSubnetIds: '["subnet-0a1b2c3d4e5f60718","subnet-0f1e2d3c4b5a69788"]',
};
const gke = { gpuProvider: "gke", gpuGkeCluster: "streamspace-prod", gpuGkeLocation: "us-central1" };

function raw(values: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries({ ...local, ...values }).map(([k, v]) => [`streamspace-images:${k}`, v]));
}

function gpu(values: Record<string, string>) {
    return parseStackConfig(raw(values), { stack: "staging", imageNames }).gpu;
}

function problemsOf(values: Record<string, string>): Problem[] {
    try {
        parseStackConfig(raw(values), { stack: "staging", imageNames });
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail("the configuration was accepted");
}

describe("gpu configuration", () => {
    it("defaults to no GPU", () => {
        assert.deepEqual(gpu({}), { provider: "none" });
    });

    it("eks defaults: g4dn.xlarge (T4, NVENC), 0 to 2 nodes, on demand, the pinned device plugin", () => {
        const c = gpu(eks) as EksGpuConfig;
        assert.equal(c.instanceType, "g4dn.xlarge");
        assert.equal(c.hardware?.model, "NVIDIA T4");
        assert.equal(c.encoding, "nvenc");
        assert.deepEqual(c.scaling, { min: 0, max: 2, desired: 0 });
        assert.equal(c.spot, false);
        assert.deepEqual(c.devicePlugin, { version: DEVICE_PLUGIN_CHART_VERSION });
        assert.deepEqual(c.warnings, []);
    });

    it("gke defaults: g2-standard-4 with one nvidia-l4, GKE's default driver", () => {
        const c = gpu(gke) as GkeGpuConfig;
        assert.equal(c.machineType, "g2-standard-4");
        assert.deepEqual(c.accelerator, { type: "nvidia-l4", count: 1 });
        assert.equal(c.driverVersion, "DEFAULT");
        assert.equal(c.hardware?.model, "NVIDIA L4");
    });

    it("existing: no RuntimeClass unless asked for", () => {
        const c = gpu({ gpuProvider: "existing" }) as ExistingGpuConfig;
        assert.equal(c.runtimeClass, undefined);
        assert.deepEqual((gpu({ gpuProvider: "existing", gpuRuntimeClass: "nvidia" }) as ExistingGpuConfig).runtimeClass, { name: "nvidia", create: true });
    });

    it("names every missing field of the chosen provider at once, with a command for each", () => {
        const problems = problemsOf({ gpuProvider: "eks" });
        assert.deepEqual(problems.map((p) => p.key), ["gpuEksClusterName", "gpuEksNodeRoleArn", "gpuEksSubnetIds"]);
        for (const p of problems) assert.match(p.message, /^required with gpuProvider eks: /);
        assert.equal(problems[0].fix, "pulumi config set gpuEksClusterName streamspace-staging --stack staging");
        assert.equal(problems[2].fix, "pulumi config set --path 'gpuEksSubnetIds[0]' subnet-0a1b2c3d4e5f60718 --stack staging");
        assert.deepEqual(problemsOf({ gpuProvider: "gke" }).map((p) => p.key), ["gpuGkeCluster", "gpuGkeLocation"]);
    });

    it("an unknown provider lists the allowed ones", () => {
        const [p] = problemsOf({ gpuProvider: "EKS" });
        assert.equal(p.key, "gpuProvider");
        assert.equal(p.value, "EKS");
        assert.match(p.message, /allowed: none, eks, gke, existing/);
    });

    it("min above max, desired outside the range, negative and zero sizes", () => {
        const [minMax] = problemsOf({ ...eks, gpuMinNodes: "3", gpuMaxNodes: "2" });
        assert.equal(minMax.key, "gpuMinNodes");
        assert.equal(minMax.value, "3");
        assert.match(minMax.fix, /pulumi config set gpuMinNodes 0 --stack staging/);
        const [desired] = problemsOf({ ...eks, gpuMaxNodes: "2", gpuDesiredNodes: "4" });
        assert.equal(desired.key, "gpuDesiredNodes");
        assert.match(desired.message, /between gpuMinNodes \(0\) and gpuMaxNodes \(2\)/);
        assert.match(problemsOf({ ...eks, gpuMaxNodes: "-2" })[0].message, /at least 1/);
        assert.match(problemsOf({ ...eks, gpuMaxNodes: "0" })[0].message, /at least 1/);
        assert.match(problemsOf({ ...eks, gpuDesiredNodes: "-1" })[0].message, /at least 0/);
    });

    it("malformed EKS identifiers", () => {
        const problems = problemsOf({ ...eks, gpuEksNodeRoleArn: "streamspace-gpu-node", gpuEksSubnetIds: '["subnet-0a1b2c3d4e5f60718","vpc-123"]' });
        const byKey = Object.fromEntries(problems.map((p) => [p.key, p]));
        assert.match(byKey.gpuEksNodeRoleArn.message, /arn:aws:iam::<12-digit account>:role\/<name>/);
        assert.match(byKey.gpuEksSubnetIds.message, /'vpc-123' is not a subnet id/);
        assert.match(byKey.gpuEksSubnetIds.fix, /--path 'gpuEksSubnetIds\[1\]'/);
    });

    describe("hardware video encoding", () => {
        for (const [type, model] of [["p4d.24xlarge", "A100"], ["p4de.24xlarge", "A100 80GB"], ["p5.48xlarge", "H100"], ["p5e.48xlarge", "H200"]]) {
            it(`refuses ${type} (${model}), naming NVENC-capable families and the way out`, () => {
                const [p] = problemsOf({ ...eks, gpuInstanceType: type });
                assert.equal(p.key, "gpuInstanceType");
                assert.equal(p.value, type);
                assert.match(p.message, new RegExp(`${model}, which has no hardware video encoder \\(NVENC\\)`));
                assert.match(p.message, /g4dn \(NVIDIA T4\), g5 \(NVIDIA A10G\), g6 \(NVIDIA L4\), g6e \(NVIDIA L40S\)/);
                assert.match(p.message, /gpuSoftwareEncoding true/);
                assert.match(p.fix, /pulumi config set gpuInstanceType g4dn.xlarge --stack staging/);
                assert.match(p.fix, /pulumi config set gpuSoftwareEncoding true --stack staging/);
            });
        }

        for (const [machine, accelerator] of [
            ["a2-highgpu-1g", "nvidia-tesla-a100"],
            ["a2-ultragpu-1g", "nvidia-a100-80gb"],
            ["a3-highgpu-8g", "nvidia-h100-80gb"],
            ["a3-megagpu-8g", "nvidia-h100-mega-80gb"],
            ["a3-ultragpu-8g", "nvidia-h200-141gb"],
        ]) {
            it(`refuses ${accelerator} on GKE, naming nvidia-tesla-t4 and nvidia-l4`, () => {
                const [p] = problemsOf({ ...gke, gpuInstanceType: machine, gpuAcceleratorType: accelerator });
                assert.equal(p.key, "gpuAcceleratorType");
                assert.match(p.message, /no hardware video encoder/);
                assert.match(p.message, /nvidia-tesla-t4 \(NVIDIA T4\), nvidia-l4 \(NVIDIA L4\)/);
            });
        }

        it("accepts GPUs with NVENC: T4, A10G, L4, L40S, V100", () => {
            for (const type of ["g4dn.2xlarge", "g5.xlarge", "g6.xlarge", "g6e.xlarge", "p3.2xlarge"]) {
                assert.equal((gpu({ ...eks, gpuInstanceType: type }) as EksGpuConfig).hardware?.nvenc, true, type);
            }
            assert.equal((gpu({ ...gke, gpuInstanceType: "n1-standard-4", gpuAcceleratorType: "nvidia-tesla-t4" }) as GkeGpuConfig).encoding, "nvenc");
        });

        it("accepts a GPU without NVENC when software encoding is intended", () => {
            const c = gpu({ ...eks, gpuInstanceType: "p5.48xlarge", gpuSoftwareEncoding: "true" }) as EksGpuConfig;
            assert.equal(c.encoding, "software");
            assert.equal(c.hardware?.nvenc, false);
        });

        it("refuses AMD (g4ad) and arm64 (g5g) instances even with software encoding", () => {
            const [amd] = problemsOf({ ...eks, gpuInstanceType: "g4ad.xlarge", gpuSoftwareEncoding: "true" });
            assert.match(amd.message, /AMD Radeon Pro V520, not an NVIDIA GPU/);
            assert.match(amd.message, /no NVENC/);
            const [arm] = problemsOf({ ...eks, gpuInstanceType: "g5g.xlarge" });
            assert.match(arm.message, /arm64/);
        });

        it("warns, rather than refuses, for types not in the table", () => {
            const c = gpu({ ...eks, gpuInstanceType: "g7e.2xlarge" }) as EksGpuConfig;
            assert.equal(c.hardware, undefined);
            assert.equal(c.warnings.length, 1);
            assert.match(c.warnings[0], /'g7e' is not in the GPU table/);
            const g = gpu({ ...gke, gpuInstanceType: "x9-standard-4", gpuAcceleratorType: "nvidia-b900" }) as GkeGpuConfig;
            assert.equal(g.warnings.length, 2);
        });

        it("refuses instance and machine types known to carry no GPU at all", () => {
            for (const type of ["m5.xlarge", "c6i.2xlarge", "r7g.large", "t3.medium", "x2gd.xlarge"]) {
                const problems = problemsOf({ ...eks, gpuInstanceType: type });
                assert.deepEqual(problems.map((p) => p.key), ["gpuInstanceType"], type);
                assert.match(problems[0].message, new RegExp(`^${type.split(".")[0]} instances carry no GPU: .*GPU families with NVENC: g4dn \\(NVIDIA T4\\)`));
                assert.equal(problems[0].fix, "pulumi config set gpuInstanceType g4dn.xlarge --stack staging");
            }
            for (const machine of ["e2-standard-4", "n2-standard-8", "c3-standard-4"]) {
                const problems = problemsOf({ ...gke, gpuInstanceType: machine });
                assert.deepEqual(problems.map((p) => p.key), ["gpuInstanceType"], machine);
                assert.match(problems[0].message, /machines take no GPU: GKE refuses an accelerator on them/);
            }
            // Unknown families are still only warned about.
            assert.equal((gpu({ ...eks, gpuInstanceType: "f2.6xlarge" }) as EksGpuConfig).warnings.length, 1);
        });

        it("checks the accelerator count against what the machine type comes with", () => {
            const big = problemsOf({ ...gke, gpuInstanceType: "g2-standard-24", gpuAcceleratorCount: "1" });
            assert.deepEqual(big.map((p) => [p.key, p.message, p.fix]), [
                ["gpuAcceleratorCount", "g2-standard-24 comes with 2 accelerators; GKE refuses any other count", "pulumi config set gpuAcceleratorCount 2 --stack staging"],
            ]);
            assert.match(problemsOf({ ...gke, gpuInstanceType: "g2-standard-4", gpuAcceleratorCount: "2" })[0].message, /g2-standard-4 comes with 1 accelerator;/);
            assert.match(problemsOf({ ...gke, gpuInstanceType: "n1-standard-8", gpuAcceleratorType: "nvidia-tesla-t4", gpuAcceleratorCount: "3" })[0].message, /comes with 1, 2, 4, 8 \(one of these\) accelerators/);
            const two = gpu({ ...gke, gpuInstanceType: "n1-standard-8", gpuAcceleratorType: "nvidia-tesla-t4", gpuAcceleratorCount: "2" }) as GkeGpuConfig;
            assert.deepEqual(two.accelerator, { type: "nvidia-tesla-t4", count: 2 });
        });

        it("refuses an accelerator the machine family cannot carry", () => {
            const [p] = problemsOf({ ...gke, gpuInstanceType: "g2-standard-4", gpuAcceleratorType: "nvidia-tesla-t4" });
            assert.equal(p.key, "gpuAcceleratorType");
            assert.match(p.message, /g2 machines \(gpuInstanceType g2-standard-4\) take nvidia-l4/);
            assert.match(p.fix, /pulumi config set gpuAcceleratorType nvidia-l4 --stack staging/);
        });

        it("malformed instance and machine types", () => {
            assert.match(problemsOf({ ...eks, gpuInstanceType: "g4dn" })[0].message, /<family>\.<size>/);
            assert.match(problemsOf({ ...gke, gpuInstanceType: "g2.standard" })[0].message, /machine type such as g2-standard-4/);
        });
    });

    it("a RuntimeClass only with existing clusters, and a valid name", () => {
        const [onEks] = problemsOf({ ...eks, gpuRuntimeClass: "nvidia" });
        assert.equal(onEks.fix, "pulumi config rm gpuRuntimeClass --stack staging");
        assert.match(problemsOf({ gpuProvider: "existing", gpuRuntimeClass: "NVIDIA_RT" })[0].message, /DNS label/);
    });

    it("a chart version range or 'v' prefix is refused: the device plugin stays pinned", () => {
        const [p] = problemsOf({ ...eks, gpuDevicePluginVersion: "v0.20.x" });
        assert.equal(p.key, "gpuDevicePluginVersion");
        assert.match(p.fix, new RegExp(`gpuDevicePluginVersion ${DEVICE_PLUGIN_CHART_VERSION.replace(/\./g, "\\.")}`));
    });

    it("the GKE driver version is DEFAULT or LATEST", () => {
        assert.match(problemsOf({ ...gke, gpuGkeDriverVersion: "535" })[0].message, /allowed: DEFAULT, LATEST/);
    });
});
