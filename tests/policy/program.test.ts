import { strict as assert } from "assert";
import { POLICIES } from "../../policy/policies";
import { WORKLOAD_TYPES } from "../../policy/rules/workloads";
import { policyConfigForStack } from "../../scripts/policy-config";
import { ProgramRun, RegisteredResource, runProgram, stackNames } from "../harness";
import { AdaptedResource, ReportedViolation, resourceViolations, stackViolations } from "./policyArgsAdapter";

/** Every violation every policy of a level reports on a program run: resource policies on each resource, stack policies once. */
async function violationsOf(run: { resources: AdaptedResource[] }, stack: string, level: "mandatory" | "advisory"): Promise<ReportedViolation[]> {
    const config = policyConfigForStack(stack);
    const out: ReportedViolation[] = [];
    for (const policy of POLICIES.filter((p) => p.enforcementLevel === level)) {
        if ("validateStack" in policy) out.push(...(await stackViolations(policy.name, run.resources, config)));
        else for (const resource of run.resources) out.push(...(await resourceViolations(policy.name, resource, config)));
    }
    return out;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The run with one resource replaced by an edited copy. */
function withChanged(run: ProgramRun, type: string, name: string, change: (inputs: Record<string, any>) => void): { resources: RegisteredResource[] } {
    let found = false;
    const resources = run.resources.map((r) => {
        if (r.type !== type || r.name !== name) return r;
        found = true;
        const inputs = clone(r.inputs);
        change(inputs);
        return { ...r, inputs };
    });
    assert.ok(found, `the program registered no ${type} named ${name}`);
    return { resources };
}

describe("policy pack on the program's resources (every stack file, under mocks)", () => {
    const runs = new Map<string, ProgramRun>();
    const runOf = async (stack: string) => {
        if (!runs.has(stack)) runs.set(stack, await runProgram({ stack, env: { GHCR_TOKEN: "test-double-token" } }));
        const run = runs.get(stack)!;
        assert.equal(run.error, undefined, run.error?.message);
        return run;
    };

    for (const stack of stackNames()) {
        it(`Pulumi.${stack}.yaml: the resources pass every mandatory policy`, async () => {
            const run = await runOf(stack);
            // The policies had something to judge: workloads, Services and images.
            const types = new Set(run.resources.map((r) => r.type));
            for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:core/v1:Service", "docker:index/image:Image"]) {
                assert.ok(types.has(type), `${stack} registers no ${type}`);
            }
            assert.ok(run.resources.filter((r) => WORKLOAD_TYPES.includes(r.type)).length >= 2, "the session and the probe");
            assert.deepEqual((await violationsOf(run, stack, "mandatory")).map((v) => `${v.policy}: ${v.message}`), []);
        });

        it(`Pulumi.${stack}.yaml: the resources meet the advisory policies too`, async () => {
            assert.deepEqual((await violationsOf(await runOf(stack), stack, "advisory")).map((v) => `${v.policy}: ${v.message}`), []);
        });
    }

    it("Pulumi.dev.yaml over WebRTC: the TURN relay passes every mandatory and advisory policy too", async () => {
        const run = await runProgram({ stack: "dev", config: { sessionTestTransport: "webrtc" }, env: { GHCR_TOKEN: "test-double-token" } });
        assert.equal(run.error, undefined, run.error?.message);
        const session = run.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === "session-test-session");
        assert.deepEqual(session?.inputs.spec.template.spec.containers.map((c: { name: string }) => c.name), ["session", "turn"], "no relay to judge");
        assert.deepEqual((await violationsOf(run, "dev", "mandatory")).map((v) => `${v.policy}: ${v.message}`), []);
        assert.deepEqual((await violationsOf(run, "dev", "advisory")).map((v) => `${v.policy}: ${v.message}`), []);
    });

    it("the program's session Deployment is judged as a session: without its /dev/shm or its security context it fails", async () => {
        const run = await runOf("dev");
        const noShm = withChanged(run, "kubernetes:apps/v1:Deployment", "session-test-session", (d) => {
            d.spec.template.spec.containers[0].volumeMounts = [];
        });
        const shm = await violationsOf(noShm, "dev", "mandatory");
        assert.deepEqual(shm.map((v) => v.policy), ["workload-session-shm"]);
        assert.match(shm[0].message, /^Deployment "session-test-session", container "session": runs a session image without its own \/dev\/shm/);

        const rootSession = withChanged(run, "kubernetes:apps/v1:Deployment", "session-test-session", (d) => {
            delete d.spec.template.spec.securityContext;
            delete d.spec.template.spec.containers[0].securityContext;
        });
        const policies = new Set((await violationsOf(rootSession, "dev", "mandatory")).map((v) => v.policy));
        assert.deepEqual([...policies].sort(), ["workload-capabilities-dropped", "workload-no-privilege-escalation", "workload-run-as-non-root", "workload-seccomp-runtime-default"]);
    });

    it("staging's GPU session without the pool's toleration, or with a warm pool, is caught", async () => {
        const run = await runOf("staging");
        const untolerated = withChanged(run, "kubernetes:apps/v1:Deployment", "session-test-session", (d) => {
            d.spec.template.spec.tolerations = [];
        });
        assert.deepEqual((await violationsOf(untolerated, "staging", "mandatory")).map((v) => v.policy), ["workload-gpu-tolerations"]);
        const warm = withChanged(run, "aws:eks/nodeGroup:NodeGroup", "gpu", (g) => {
            g.scalingConfig.minSize = 1;
        });
        assert.deepEqual((await violationsOf(warm, "staging", "advisory")).map((v) => v.policy), ["gpu-pool-scales-to-zero"]);
    });

    it("staging's GPU node group is judged with the launch template the program gives it: a second metadata hop, or no template, is refused", async () => {
        const run = await runOf("staging");
        const twoHops = withChanged(run, "aws:ec2/launchTemplate:LaunchTemplate", "gpu-launch-template", (t) => {
            t.metadataOptions.httpPutResponseHopLimit = 2;
        });
        const v = await violationsOf(twoHops, "staging", "mandatory");
        assert.deepEqual(v.map((x) => x.policy), ["gpu-pool-node-metadata"]);
        assert.match(v[0].message, /^aws\.NodeGroup "gpu": uses the launch template aws\.LaunchTemplate "gpu-launch-template", where metadataOptions\.httpPutResponseHopLimit is 2, not 1/);
        const untemplated = withChanged(run, "aws:eks/nodeGroup:NodeGroup", "gpu", (g) => {
            delete g.launchTemplate;
        });
        assert.deepEqual((await violationsOf(untemplated, "staging", "mandatory")).map((x) => x.policy), ["gpu-pool-node-metadata"]);
    });

    it("a session Service of type LoadBalancer in prod is refused", async () => {
        const run = await runOf("prod");
        const exposed = withChanged(run, "kubernetes:core/v1:Service", "session-test-session", (s) => {
            s.spec.type = "LoadBalancer";
        });
        const v = await violationsOf(exposed, "prod", "mandatory");
        assert.deepEqual(v.map((x) => x.policy), ["service-session-exposure"]);
        assert.match(v[0].message, /--stack prod/);
    });
});
