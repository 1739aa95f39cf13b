import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { loadCatalog, treeHash } from "../../catalog";
import { TEMPLATE_API_VERSION, TEMPLATE_KIND } from "../../components/streamspaceTemplates";
import { ApiServer, Manifest } from "../kubernetes/apiServer";
import { changes, engineBins, installStreamSpace, labProgram, labStack, plainTextPaths, Steps, waitUntil } from "./labStack";

/**
 * The dev stack under the real Pulumi engine: the Pulumi CLI and the Kubernetes provider plugin,
 * built from the Go module proxy by scripts/lab/engine.sh, run the program (index.ts, unchanged,
 * through the Automation API's inline mode, which needs no Node.js language host) against a real
 * kube-apiserver and etcd with kube-controller-manager (scripts/lab/apiserver.sh), with a local file backend: preview, update,
 * a second preview and update that change nothing, and destroy.
 *
 * What differs from `./scripts/deploy-dev.sh`, and why:
 * - The images are taken prebuilt (`prebuiltImages`): the Docker provider cannot be built here, so
 *   this stack must, and does, run without it. Their digests are stand-ins (each image folder's
 *   tree hash): nothing pulls them, as no kubelet runs at this rung.
 * - The session password is set, so the random provider (not buildable here either) is not used.
 * - Every Kubernetes object carries `pulumi.com/skipAwait`: the controllers run (Deployments make
 *   ReplicaSets and Pods, Jobs make Pods, namespaces are emptied when deleted), but no scheduler or
 *   kubelet does, so no Pod starts, no Deployment becomes ready and no Job completes.
 *
 * Needs the engine built (`npm run test:engine` builds it first); without it every test here is
 * skipped, saying so, unless STREAMSPACE_REQUIRE_ENGINE=1 makes that a failure.
 */

const SERVER_START_MS = 240_000;
const STEP_MS = 600_000;
const SESSION_NAMESPACE = "streamspace-session-test";
const SESSION_DEPLOYMENT = "session";
const PASSWORD = `lab-${randomBytes(12).toString("hex")}`;

/** A stand-in digest for an image nothing will pull: its folder's tree hash, so it is stable. */
function standInReference(name: string): string {
    return `localhost:5001/streamspace-dev/${name}@sha256:${treeHash(loadCatalog().get(name).folder)}`;
}

/** The lab's one adjustment to the program (see the header): no object is awaited. */
function skipAwait(args: pulumi.ResourceTransformArgs): pulumi.ResourceTransformResult | undefined {
    if (!args.type.startsWith("kubernetes:") || args.type.startsWith("kubernetes:helm")) return undefined;
    const props = { ...args.props };
    const metadata = { ...(props.metadata ?? {}) };
    metadata.annotations = {
        ...(metadata.annotations ?? {}),
        "pulumi.com/skipAwait": "true",
    };
    props.metadata = metadata;
    return { props, opts: args.opts };
}

describe("The dev stack under the real Pulumi engine, on a real kube-apiserver", function () {
    let api: ApiServer | undefined;
    let stack: Stack | undefined;
    let work: string | undefined;
    const steps = new Steps();
    const chromeRef = standInReference("chrome-selkies");
    const probeRef = standInReference("stream-probe");
    const timed = steps.timed.bind(steps);

    before(async function () {
        const engine = engineBins();
        if (!engine.bins) {
            if (process.env.STREAMSPACE_REQUIRE_ENGINE === "1") throw new Error(`the engine check cannot run: ${engine.missing}`);
            console.log(`\n  SKIPPED the real-engine check: ${engine.missing}\n  (npm run test:engine builds the Pulumi CLI and the Kubernetes provider, then runs it)\n`);
            this.skip();
        }
        this.timeout(SERVER_START_MS + 120_000);
        api = await ApiServer.start(SERVER_START_MS);
        await installStreamSpace(api);
        ({ stack, work } = await labStack(api, engine.bins!, labProgram(skipAwait), {
            // Paths, so these two make the object prebuiltImages is declared as.
            "streamspace-images:prebuiltImages.chrome-selkies": { value: chromeRef },
            "streamspace-images:prebuiltImages.stream-probe": { value: probeRef },
            "streamspace-images:sessionTestPassword": { value: PASSWORD, secret: true },
        }));
    });

    after(async function () {
        this.timeout(120_000);
        console.log(steps.table());
        await api?.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    const server = (): ApiServer => {
        assert.ok(api && stack, "the API server or the stack did not start");
        return api;
    };
    const get = (apiVersion: string, kind: string, name: string, namespace?: string): Promise<{ status: number; body: any }> =>
        server().get({ apiVersion, kind, metadata: { name, namespace } } as Manifest);

    it("previews the empty stack: every object to create, and no Docker provider needed", async function () {
        this.timeout(STEP_MS);
        server();
        const types = new Set<string>();
        const onEvent = (e: EngineEvent) => {
            if (e.resourcePreEvent) types.add(e.resourcePreEvent.metadata.type);
        };
        const result = await timed("preview (empty stack)", () => stack!.preview({ onEvent }), (r) => changes(r.changeSummary));
        assert.ok((result.changeSummary.create ?? 0) > 10, `only ${changes(result.changeSummary)}`);
        assert.deepEqual([...types].filter((t) => t.includes("docker") || t.includes("random")), []);
        assert.ok(types.has("kubernetes:apps/v1:Deployment"));
        assert.ok(types.has("kubernetes:batch/v1:Job"));
    });

    it("creates every object on the API server: the session, the probe Job, the NetworkPolicies and the Templates", async function () {
        this.timeout(STEP_MS);
        server();
        const result = await timed("up", () => stack!.up(), (r) => changes(r.summary.resourceChanges));
        assert.equal(result.summary.result, "succeeded");
        assert.equal(result.summary.resourceChanges?.update ?? 0, 0);

        const deployments = await server().request("GET", `/apis/apps/v1/namespaces/${SESSION_NAMESPACE}/deployments`);
        const names = (deployments.body.items ?? []).map((d: any) => d.metadata.name);
        const deployment = await get("apps/v1", "Deployment", SESSION_DEPLOYMENT, SESSION_NAMESPACE);
        assert.equal(deployment.status, 200, `the session Deployment is not there; the namespace has: ${names.join(", ") || "none"}`);
        assert.equal(deployment.body.spec.template.spec.containers[0].image, chromeRef);
        const job = await get("batch/v1", "Job", String(result.outputs.probeJob.value), SESSION_NAMESPACE);
        assert.equal(job.status, 200, "the probe Job is not there");
        assert.equal(job.body.spec.template.spec.containers[0].image, probeRef);
        const namespace = await get("v1", "Namespace", SESSION_NAMESPACE);
        assert.equal(namespace.body.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        const policies = await server().request("GET", `/apis/networking.k8s.io/v1/namespaces/${SESSION_NAMESPACE}/networkpolicies`);
        assert.ok(policies.body.items.length >= 2, `NetworkPolicies: ${policies.body.items.map((p: any) => p.metadata.name).join(", ")}`);
        // The controllers act on what the update created: the session's ReplicaSet and the probe's Pod,
        // both admitted under `restricted`.
        const made = await waitUntil(async () => {
            const pods = await server().request("GET", `/api/v1/namespaces/${SESSION_NAMESPACE}/pods`);
            const owners = (pods.body.items ?? []).map((p: any) => p.metadata.ownerReferences?.[0]?.kind);
            return owners.includes("ReplicaSet") && owners.includes("Job") ? owners : undefined;
        }, "a Pod of the session's ReplicaSet and one of the probe Job");
        assert.ok(made.length >= 2);
        const template = await get(TEMPLATE_API_VERSION, TEMPLATE_KIND, "chrome-selkies", "streamspace");
        assert.equal(template.status, 200, "the chrome-selkies Template is not there");
        assert.equal(template.body.spec.baseImage, chromeRef);
    });

    it("keeps the session password a secret: an encrypted output, never plain text in the state file", async function () {
        this.timeout(STEP_MS);
        server();
        const outputs = await stack!.outputs();
        assert.equal(outputs.sessionPassword.secret, true);
        assert.equal(outputs.sessionPassword.value, PASSWORD);
        assert.equal(outputs.sessionUser.secret, false);
        // The checkpoint as the backend keeps it (the Automation API's export decrypts secrets).
        const files = fs.readdirSync(path.join(work!, "state"), { recursive: true, encoding: "utf8" }).filter((f) => /stacks\/.*dev\.json$/.test(f));
        assert.equal(files.length, 1, `checkpoints: ${files.join(", ")}`);
        const checkpoint = JSON.parse(fs.readFileSync(path.join(work!, "state", files[0]), "utf8"));
        assert.deepEqual(plainTextPaths(checkpoint, PASSWORD), [], "the session password is in the state in plain text");
        assert.match(JSON.stringify(checkpoint), /"ciphertext"/, "the state holds no encrypted secret at all");
    });

    it("a second preview and update change nothing", async function () {
        this.timeout(2 * STEP_MS);
        server();
        await timed("preview --expect-no-changes", () => stack!.preview({ expectNoChanges: true }), (r) => changes(r.changeSummary));
        const again = await timed("up --expect-no-changes", () => stack!.up({ expectNoChanges: true }), (r) => changes(r.summary.resourceChanges));
        assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"]);
    });

    it("destroy leaves the stack empty and the objects deleted", async function () {
        this.timeout(STEP_MS);
        server();
        const output: string[] = [];
        const result = await timed(
            "destroy",
            () => stack!.destroy({ onOutput: (o) => output.push(o), signal: AbortSignal.timeout(STEP_MS - 60_000) }),
            (r) => changes(r.summary.resourceChanges),
        ).catch((e) => {
            throw new Error(`${(e as Error).message}\n${output.join("")}`);
        });
        assert.equal(result.summary.result, "succeeded");
        const state = (await stack!.exportStack()).deployment as { resources?: unknown[] };
        assert.deepEqual(state.resources ?? [], []);
        const template = await get(TEMPLATE_API_VERSION, TEMPLATE_KIND, "chrome-selkies", "streamspace");
        assert.equal(template.status, 404);
        // The namespace controller empties the namespace and removes it.
        await waitUntil(async () => ((await get("v1", "Namespace", SESSION_NAMESPACE)).status === 404 ? true : undefined), "the session namespace gone");
    });
});
