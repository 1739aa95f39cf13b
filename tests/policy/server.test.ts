import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { POLICIES } from "../../policy/policies";
import { policyConfigForStack } from "../../scripts/policy-config";
import { ROOT } from "../harness";
import { deployment, mainContainer } from "./fixtures";

// The pack started the way the Pulumi CLI starts it (@pulumi/pulumi's run-policy-pack, in policy/,
// compiling the TypeScript with ts-node), and spoken to over its gRPC interface as the engine does:
// this proves PulumiPolicy.yaml, policy/package.json and the policies' config schemas work together.

const RUN_POLICY_PACK = path.join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");

function startPack(): Promise<{ pack: ChildProcess; port: number }> {
    // The first argument is the engine's address, which a policy pack does not call.
    const pack = spawn(process.execPath, [RUN_POLICY_PACK, "127.0.0.1:0", "."], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    pack.stderr!.on("data", (d) => (stderr += d));
    return new Promise((resolve, reject) => {
        pack.stdout!.once("data", (d) => {
            const port = Number(String(d).trim().split("\n")[0]);
            if (Number.isInteger(port) && port > 0) resolve({ pack, port });
            else reject(new Error(`the policy pack printed ${JSON.stringify(String(d))} instead of its port; stderr:\n${stderr}`));
        });
        pack.once("exit", (code) => reject(new Error(`the policy pack exited with ${code} before serving:\n${stderr}`)));
    });
}

function call<Req, Res>(method: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => method(req, (err, res) => (err ? reject(err) : resolve(res))));
}

describe("policy pack served as the Pulumi CLI runs it", function () {
    this.timeout(120_000);
    let pack: ChildProcess | undefined;
    let client: AnalyzerClient;

    before(async () => {
        const started = await startPack();
        pack = started.pack;
        client = new AnalyzerClient(`127.0.0.1:${started.port}`, grpc.credentials.createInsecure());
        // What the engine sends from --policy-pack-config: each policy's level (its own) and properties.
        const configure = new analyzer.ConfigureAnalyzerRequest();
        for (const [name, properties] of Object.entries(policyConfigForStack("staging"))) {
            const level = POLICIES.find((p) => p.name === name)?.enforcementLevel === "advisory" ? analyzer.EnforcementLevel.ADVISORY : analyzer.EnforcementLevel.MANDATORY;
            configure.getPolicyconfigMap().set(name, new analyzer.PolicyConfig().setEnforcementlevel(level).setProperties(Struct.fromJavaScript(properties as Record<string, any>)));
        }
        await call(client.configure.bind(client), configure);
    });

    after(() => {
        client?.close();
        pack?.kill();
    });

    function analyze(resource: { type: string; name: string; props?: Record<string, any> }): Promise<analyzer.AnalyzeResponse> {
        const request = new analyzer.AnalyzeRequest()
            .setType(resource.type)
            .setName(resource.name)
            .setUrn(`urn:pulumi:staging::streamspace-images::${resource.type}::${resource.name}`)
            .setProperties(Struct.fromJavaScript(resource.props ?? {}))
            .setOptions(new analyzer.AnalyzerResourceOptions());
        return call(client.analyze.bind(client), request);
    }

    it("announces the pack's policies with their enforcement levels and config schemas", async () => {
        const info = await call<Empty, analyzer.AnalyzerInfo>(client.getAnalyzerInfo.bind(client), new Empty());
        assert.equal(info.getName(), "streamspace-images");
        const levels = Object.fromEntries(info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]));
        assert.equal(levels["workload-run-as-non-root"], analyzer.EnforcementLevel.MANDATORY);
        assert.equal(levels["gpu-pool-scales-to-zero"], analyzer.EnforcementLevel.ADVISORY);
        assert.equal(info.getPoliciesList().length, 15);
        const registry = info.getPoliciesList().find((p) => p.getName() === "image-registry")!;
        assert.deepEqual(Object.keys(registry.getConfigschema()!.getProperties()!.toJavaScript()).sort(), ["registryOwner", "registryServer", "stack"]);
    });

    it("reports a root session Deployment as mandatory violations, and a compliant one not at all", async () => {
        const compliant = await analyze(deployment());
        assert.deepEqual(compliant.getDiagnosticsList().map((d) => d.getMessage()), []);
        const root = await analyze(deployment((pod) => (mainContainer(pod).securityContext.runAsUser = 0)));
        const [d] = root.getDiagnosticsList();
        assert.equal(root.getDiagnosticsList().length, 1);
        assert.equal(d.getPolicyname(), "workload-run-as-non-root");
        assert.equal(d.getEnforcementlevel(), analyzer.EnforcementLevel.MANDATORY);
        assert.match(d.getMessage(), /Deployment "session", container "session": runAsUser is 0/);
    });

    it("during preview, an image digest not known yet skips only the digest policy, with an advisory note", async () => {
        const preview = await analyze(deployment((pod) => (mainContainer(pod).image = unknownValue)));
        const diagnostics = preview.getDiagnosticsList();
        assert.deepEqual(diagnostics.map((d) => d.getPolicyname()), ["workload-image-digest"]);
        assert.equal(diagnostics[0].getEnforcementlevel(), analyzer.EnforcementLevel.ADVISORY);
        assert.match(diagnostics[0].getMessage(), /can't run policy 'workload-image-digest'.*during preview/);
    });

    it("during preview, resolves a GPU node group's launch template through its property dependencies: a second metadata hop is refused before any id exists", async () => {
        const urn = (type: string, name: string) => `urn:pulumi:staging::streamspace-images::${type}::${name}`;
        const templateUrn = urn("aws:ec2/launchTemplate:LaunchTemplate", "gpu-launch-template");
        const stack = (hopLimit: number) => {
            const template = new analyzer.AnalyzerResource()
                .setType("aws:ec2/launchTemplate:LaunchTemplate")
                .setName("gpu-launch-template")
                .setUrn(templateUrn)
                .setProperties(Struct.fromJavaScript({ metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: hopLimit } }))
                .setOptions(new analyzer.AnalyzerResourceOptions());
            const group = new analyzer.AnalyzerResource()
                .setType("aws:eks/nodeGroup:NodeGroup")
                .setName("gpu")
                .setUrn(urn("aws:eks/nodeGroup:NodeGroup", "gpu"))
                .setProperties(Struct.fromJavaScript({
                    labels: { "streamspace.io/node-type": "gpu" },
                    scalingConfig: { minSize: 0, maxSize: 2, desiredSize: 0 },
                    launchTemplate: { id: unknownValue, version: unknownValue },
                }))
                .setOptions(new analyzer.AnalyzerResourceOptions());
            group.getPropertydependenciesMap().set("launchTemplate", new analyzer.AnalyzerPropertyDependencies().setUrnsList([templateUrn]));
            return new analyzer.AnalyzeStackRequest().setResourcesList([template, group]);
        };
        const compliant = await call<analyzer.AnalyzeStackRequest, analyzer.AnalyzeResponse>(client.analyzeStack.bind(client), stack(1));
        assert.deepEqual(compliant.getDiagnosticsList().map((d) => `${d.getPolicyname()}: ${d.getMessage()}`), []);
        const diagnostics = (await call<analyzer.AnalyzeStackRequest, analyzer.AnalyzeResponse>(client.analyzeStack.bind(client), stack(2))).getDiagnosticsList();
        assert.deepEqual(diagnostics.map((d) => d.getPolicyname()), ["gpu-pool-node-metadata"]);
        assert.equal(diagnostics[0].getEnforcementlevel(), analyzer.EnforcementLevel.MANDATORY);
        assert.match(diagnostics[0].getMessage(), /aws\.NodeGroup "gpu": uses the launch template aws\.LaunchTemplate "gpu-launch-template", where metadataOptions\.httpPutResponseHopLimit is 2, not 1/);
    });

    it("reads the stack facts it was configured with: a LoadBalancer on the Selkies port of staging is refused", async () => {
        const service = { type: "kubernetes:core/v1:Service", name: "session", props: { spec: { type: "LoadBalancer", ports: [{ port: 8080, targetPort: "selkies" }] } } };
        const [d] = (await analyze(service)).getDiagnosticsList();
        assert.equal(d?.getPolicyname(), "service-session-exposure");
        assert.match(d.getMessage(), /--stack staging/);
    });
});
