import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { TEMPLATE_API_VERSION, TEMPLATE_KIND } from "../../components/streamspaceTemplates";
import { probeResultFromLog, ProbeResult, screenshotFromLog } from "../../scripts/e2e-report";
import { ApiServer, Manifest } from "../kubernetes/apiServer";
import { LabNode } from "../kubernetes/labNode";
import { changes, engineBins, installStreamSpace, labProgram, labStack, ROOT, Steps, waitUntil } from "./labStack";

/**
 * The dev stack on a real Kubernetes node: the program (index.ts, unchanged) under the real
 * Pulumi CLI and Kubernetes provider (scripts/lab/engine.sh), on a control plane of
 * scripts/lab/apiserver.sh with one node of scripts/lab/node.sh (containerd, kubelet,
 * kube-proxy, CoreDNS, kube-scheduler). Nothing is skipped or stood in for on the Kubernetes side:
 * the update waits for the session Deployment to be ready and for the probe Job to complete, the
 * probe streams from the session pod through its Service and its cluster DNS name, and the
 * Templates are published only after it passed. The probe's result, the screenshot of the decoded
 * stream and the steps' times land in artifacts/e2e/node/.
 *
 * What differs from `./scripts/deploy-dev.sh`, and why:
 * - The images are the offline builds of scripts/offline-images.sh, pushed to the node's registry
 *   and taken prebuilt (`prebuiltImages`) by digest: the Docker provider cannot be built here.
 * - The session password is set, so the random provider (not buildable here either) is not used.
 * - For the one update that deploys a session which never becomes ready, the Deployment is awaited
 *   for 90 s instead of the stack's timeout (at least 5 minutes): the outcome is the same, sooner.
 *
 * Needs, besides the engine and the node's binaries, root and the chrome-selkies and stream-probe
 * images of the offline builds (`npm run test:node` after scripts/offline-images.sh); without them
 * every test here is skipped, saying why, unless STREAMSPACE_REQUIRE_NODE=1 makes that a failure.
 */

const START_MS = 240_000;
const STEP_MS = 900_000;
const SESSION_NAMESPACE = "streamspace-session-test";
const PASSWORD = `lab-${randomBytes(12).toString("hex")}`;
const OFFLINE = "localhost/streamspace-offline";
const ARTIFACTS = path.join(ROOT, "artifacts", "e2e", "node");
const SELKIES_FAILS = path.join(ROOT, "tests", "fixtures", "lab-images", "selkies-fails");

/** When set, how long the session Deployment is awaited (see the header). */
let deploymentAwait: string | undefined;
function shortDeploymentAwait(args: pulumi.ResourceTransformArgs): pulumi.ResourceTransformResult | undefined {
    if (!deploymentAwait || args.type !== "kubernetes:apps/v1:Deployment") return undefined;
    return { props: args.props, opts: { ...args.opts, customTimeouts: { create: deploymentAwait, update: deploymentAwait } } };
}

describe("The dev stack on a real Kubernetes node: the session streams, the probe Job gates the update", function () {
    let api: ApiServer | undefined;
    let node: LabNode | undefined;
    let stack: Stack | undefined;
    let work: string | undefined;
    let chromeRef = "";
    let probeRef = "";
    let failingRef = "";
    const steps = new Steps();

    before(async function () {
        const engine = engineBins();
        const missing = engine.missing ?? LabNode.missing();
        if (missing) {
            if (process.env.STREAMSPACE_REQUIRE_NODE === "1") throw new Error(`the node check cannot run: ${missing}`);
            console.log(`\n  SKIPPED the real-node check: ${missing}\n  (npm run test:node builds what it needs, then runs it)\n`);
            this.skip();
        }
        this.timeout(2 * START_MS + 600_000);
        api = await ApiServer.start(START_MS);
        node = await steps.timed("node start", () => LabNode.start(api!, START_MS), (n) => `registry ${n.registry}`);
        await installStreamSpace(api);
        chromeRef = await steps.timed("push chrome-selkies", () => node!.push(`${OFFLINE}/chrome-selkies:offline`, "streamspace-dev/chrome-selkies:dev"), (r) => r);
        probeRef = await steps.timed("push stream-probe", () => node!.push(`${OFFLINE}/stream-probe:offline`, "streamspace-dev/stream-probe:dev"), (r) => r);
        failingRef = await steps.timed(
            "build selkies-fails",
            () => node!.build(SELKIES_FAILS, "streamspace-dev/chrome-selkies:selkies-fails", [`BASE_IMAGE=${OFFLINE}/chrome-selkies:offline`]),
            (r) => r,
        );
        ({ stack, work } = await labStack(api, engine.bins!, labProgram(shortDeploymentAwait), {
            "streamspace-images:prebuiltImages.chrome-selkies": { value: failingRef },
            "streamspace-images:prebuiltImages.stream-probe": { value: probeRef },
            "streamspace-images:sessionTestPassword": { value: PASSWORD, secret: true },
        }));
    });

    after(async function () {
        this.timeout(300_000);
        console.log(steps.table());
        if (steps.steps.length > 0) {
            fs.mkdirSync(ARTIFACTS, { recursive: true });
            fs.writeFileSync(path.join(ARTIFACTS, "summary.md"), `## The dev stack on a real Kubernetes node\n\n\`\`\`${steps.table()}\n\`\`\`\n`);
        }
        await node?.stop();
        await api?.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    const server = (): ApiServer => {
        assert.ok(api && node && stack, "the cluster or the stack did not start");
        return api;
    };
    const list = async (pathAndQuery: string): Promise<any[]> => (await server().request("GET", pathAndQuery)).body.items ?? [];

    /** The last probe pod's log and its verdict. */
    async function probeLog(): Promise<{ log: string; result?: ProbeResult }> {
        const pods = await list(`/api/v1/namespaces/${SESSION_NAMESPACE}/pods?labelSelector=${encodeURIComponent("app.kubernetes.io/component=probe")}`);
        assert.ok(pods.length > 0, "no probe pod ran");
        pods.sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
        const last = pods[pods.length - 1];
        const res = await server().request("GET", `/api/v1/namespaces/${SESSION_NAMESPACE}/pods/${last.metadata.name}/log`, undefined);
        const log = typeof res.body === "string" ? res.body : JSON.stringify(res.body);
        return { log, result: probeResultFromLog(log) };
    }

    const templateStatus = async (): Promise<number> =>
        (await server().get({ apiVersion: TEMPLATE_API_VERSION, kind: TEMPLATE_KIND, metadata: { name: "chrome-selkies", namespace: "streamspace" } } as Manifest)).status;

    it("a session image whose streaming server does not start fails the update before any probe runs, and no Template is published", async function () {
        this.timeout(STEP_MS);
        server();
        deploymentAwait = "90s";
        const output: string[] = [];
        const failure = await steps
            .timed("up (Selkies fails)", () => stack!.up({ onOutput: (o) => output.push(o) }).then(() => undefined, (e: Error) => e), (e) => (e ? "failed, as it must" : "succeeded"))
            .finally(() => {
                deploymentAwait = undefined;
            });
        assert.ok(failure, "the update succeeded with a session whose streaming server does not start");
        const text = output.join("");
        assert.match(text, /kubernetes:apps\/v1:Deployment\s+\S*session\s+\*\*creating failed/, `the update did not fail at the session Deployment:\n${text.slice(-3000)}`);
        // The session pod runs, but is never ready: its health check waits for the streaming server.
        const pods = await list(`/api/v1/namespaces/${SESSION_NAMESPACE}/pods?labelSelector=${encodeURIComponent("app.kubernetes.io/component=session")}`);
        assert.ok(pods.length > 0, "no session pod was started");
        assert.ok(pods.every((p) => p.spec.containers[0].image === failingRef && !p.status.containerStatuses?.[0]?.ready), JSON.stringify(pods.map((p) => p.status)));
        assert.deepEqual(await list(`/apis/batch/v1/namespaces/${SESSION_NAMESPACE}/jobs`), [], "a probe Job was created for a session that never became ready");
        assert.equal(await templateStatus(), 404, "a Template was published for a session that never became ready");
        await stack!.setConfig("streamspace-images:prebuiltImages.chrome-selkies", { value: chromeRef }, true);
    });

    it("a probe that cannot pass fails the update at the probe Job, and no Template is published", async function () {
        this.timeout(STEP_MS);
        server();
        // The working session, with a bar no software-encoded stream reaches, measured briefly.
        await stack!.setAllConfig({
            "streamspace-images:sessionTestProbeMinFps": { value: "240" },
            "streamspace-images:sessionTestProbeSeconds": { value: "5" },
        });
        const output: string[] = [];
        const failure = await steps
            .timed("up (probe cannot pass)", () => stack!.up({ onOutput: (o) => output.push(o) }).then(
                () => undefined,
                (e: Error) => e,
            ), (e) => (e ? "failed, as it must" : "succeeded"))
            .finally(() => stack!.removeAllConfig(["streamspace-images:sessionTestProbeMinFps", "streamspace-images:sessionTestProbeSeconds"]));
        assert.ok(failure, "the update succeeded with a probe that cannot pass");
        const text = output.join("");
        assert.match(text, /kubernetes:batch\/v1:Job\s+\S*probe/, `the update did not fail at the probe Job:\n${text.slice(-3000)}`);
        const { log, result: verdict } = await probeLog();
        assert.equal(verdict?.verdict, "fail", `the probe's log:\n${log.slice(-2000)}`);
        assert.equal(verdict?.reason, "low-fps");
        // The session itself was deployed and is ready: only the probe's verdict stopped the update.
        assert.equal(await templateStatus(), 404, "a Template was published although the probe failed");
    });

    it("up runs the session pod on the node, and completes only after the probe Job saw frames", async function () {
        this.timeout(STEP_MS);
        server();
        const output: string[] = [];
        const result = await steps
            .timed("up", () => stack!.up({ onOutput: (o) => output.push(o) }), (r) => changes(r.summary.resourceChanges))
            .catch(async (e) => {
                const probe = await probeLog().catch(() => ({ log: "(no probe log)" }));
                throw new Error(`${(e as Error).message}\n${output.join("").slice(-4000)}\nprobe log:\n${probe.log.slice(-3000)}`);
            });
        assert.equal(result.summary.result, "succeeded");

        // The session runs on the node, from the pushed image.
        const sessions = await list(`/api/v1/namespaces/${SESSION_NAMESPACE}/pods?labelSelector=${encodeURIComponent("app.kubernetes.io/component=session")}`);
        const running = sessions.filter((p) => p.status.phase === "Running");
        assert.equal(running.length, 1, `session pods: ${sessions.map((p) => `${p.metadata.name} ${p.status.phase}`).join(", ")}`);
        assert.equal(running[0].spec.nodeName, "lab-node");
        assert.equal(running[0].status.containerStatuses[0].ready, true);
        assert.equal(running[0].status.containerStatuses[0].imageID, chromeRef);

        // The probe Job completed, and its verdict is a pass with decoded frames.
        const job = await server().get({ apiVersion: "batch/v1", kind: "Job", metadata: { name: String(result.outputs.probeJob.value), namespace: SESSION_NAMESPACE } } as Manifest);
        assert.equal(job.body.status?.succeeded, 1, `probe Job status: ${JSON.stringify(job.body.status)}`);
        const { log, result: verdict } = await probeLog();
        assert.ok(verdict, `no verdict line in the probe's log:\n${log.slice(-2000)}`);
        assert.equal(verdict.verdict, "pass", verdict.detail);
        assert.ok(verdict.framesDecoded > 0 && verdict.fps > 0, JSON.stringify(verdict));
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        fs.writeFileSync(path.join(ARTIFACTS, "probe-result.json"), JSON.stringify(verdict, null, 2) + "\n");
        const screenshot = screenshotFromLog(log);
        if (screenshot) fs.writeFileSync(path.join(ARTIFACTS, "stream-probe.png"), screenshot);
        steps.steps.push({ name: "probe verdict", seconds: 0, summary: `${verdict.verdict}: ${verdict.framesDecoded} frames, ${verdict.fps} fps, ${verdict.width}x${verdict.height}, ${verdict.codec ?? "?"}` });

        // Published after the probe passed.
        const template = await server().get({ apiVersion: TEMPLATE_API_VERSION, kind: TEMPLATE_KIND, metadata: { name: "chrome-selkies", namespace: "streamspace" } } as Manifest);
        assert.equal(template.status, 200, "the chrome-selkies Template is not there");
        assert.equal(template.body.spec.baseImage, chromeRef);
    });

    it("a second update changes nothing", async function () {
        this.timeout(STEP_MS);
        server();
        const again = await steps.timed("up --expect-no-changes", () => stack!.up({ expectNoChanges: true }), (r) => changes(r.summary.resourceChanges));
        assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"]);
    });

    it("destroy stops the session and leaves no Pod on the node", async function () {
        this.timeout(STEP_MS);
        server();
        const result = await steps.timed("destroy", () => stack!.destroy(), (r) => changes(r.summary.resourceChanges));
        assert.equal(result.summary.result, "succeeded");
        await waitUntil(async () => ((await list(`/api/v1/pods?fieldSelector=${encodeURIComponent("spec.nodeName=lab-node")}`)).length === 0 ? true : undefined), "no Pod left on the node", 180_000);
    });
});
