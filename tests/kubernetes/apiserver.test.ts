import { strict as assert } from "assert";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { TEMPLATE_API_VERSION, TEMPLATE_KIND } from "../../components/streamspaceTemplates";
import { isCidr } from "../../config/sessionTest";
import { ProgramRun, ROOT, byType, runProgram } from "../harness";
import { ApiResponse, ApiServer, Manifest, inCreateOrder, isKubernetesObject, manifestOf, missingBinaries, refusal, templateCrd } from "./apiServer";

/**
 * The program's Kubernetes objects on a real kube-apiserver (with etcd and the controllers; no scheduler, no kubelet):
 * the server's own schema validation with unknown fields refused, its admission chain with
 * PodSecurity enforcing `restricted` in the session namespace, and StreamSpace's Template CRD.
 * Mocks only show what the program sends; this shows a cluster would take it.
 *
 * Needs kube-apiserver and etcd built by scripts/lab/kubernetes.sh (`npm run test:apiserver` builds
 * them first); without them every test here is skipped, saying so, unless
 * STREAMSPACE_REQUIRE_APISERVER=1 makes that a failure.
 */

const SERVER_START_MS = 240_000;
const token = { GHCR_TOKEN: "test-double-token" };
const SESSION_DEPLOYMENT = "session-test-session";
const PROBE_JOB = "session-test-probe";

interface Variant {
    title: string;
    config: Record<string, unknown>;
}

// Each transport in a namespace of its own, so that the two never meet.
const VARIANTS: Variant[] = [
    // The dev stack as it is, with its Templates created in the cluster too.
    { title: "Pulumi.dev.yaml (WebSockets)", config: { templatesApply: true } },
    // The relay, and private ranges the session may reach (ipBlocks of the stack's own).
    {
        title: "Pulumi.dev.yaml over WebRTC (TURN relay), with allowed private ranges",
        config: { sessionTestTransport: "webrtc", sessionTestNamespace: "streamspace-session-test-webrtc", sessionTestAllowedPrivateEgress: ["10.20.0.0/16", "fd12:3456::/48"] },
    },
];

interface Created {
    manifest: Manifest;
    response: ApiResponse;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const nameOf = (m: Manifest) => `${m.kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ""}${m.metadata.name}`;

/** A Pod with a workload's pod template, as its controller would create it. */
function podFrom(workload: Manifest, name: string): Manifest {
    const template = (workload.spec as any).template;
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: workload.metadata.namespace, labels: template.metadata?.labels ?? {} },
        spec: clone(template.spec),
    };
}

/** The session pod made to run as root: what `restricted` exists to refuse. */
function asRoot(pod: Manifest): Manifest {
    const root = clone(pod);
    root.metadata.name = `${pod.metadata.name}-as-root`;
    const spec = root.spec as any;
    spec.securityContext = { ...spec.securityContext, runAsUser: 0 };
    delete spec.securityContext.runAsNonRoot;
    for (const c of spec.containers) {
        c.securityContext = { ...c.securityContext, runAsUser: 0 };
        delete c.securityContext.runAsNonRoot;
    }
    return root;
}

describe("Kubernetes API server check: the program's objects on a real kube-apiserver", function () {
    let api: ApiServer | undefined;

    before(async function () {
        const missing = missingBinaries();
        if (missing) {
            if (process.env.STREAMSPACE_REQUIRE_APISERVER === "1") throw new Error(`the API server check cannot run: ${missing}`);
            // Loud on purpose: a skipped check is not a passed one.
            console.log(`\n  SKIPPED the Kubernetes API server check: ${missing}\n  (npm run test:apiserver builds kube-apiserver and etcd, then runs it)\n`);
            this.skip();
        }
        this.timeout(SERVER_START_MS + 10_000);
        api = await ApiServer.start(SERVER_START_MS);
    });

    after(async function () {
        this.timeout(90_000);
        await api?.stop();
    });

    const server = (): ApiServer => {
        assert.ok(api, "the API server did not start");
        return api;
    };

    describe("the checks can fail", () => {
        it("a misspelled field is refused, not dropped (strict field validation)", async () => {
            const ns: Manifest = { apiVersion: "v1", kind: "Namespace", metadata: { name: "strict-check", labelz: { a: "b" } } };
            const res = await server().create(ns, { dryRun: true });
            assert.equal(res.status, 400, `expected 400, got ${refusal(ns, res)}`);
            assert.match(res.body.message, /unknown field "metadata\.labelz"/);
        });

        it("a Deployment whose pods break `restricted` is answered with PodSecurity warnings", async () => {
            const ns: Manifest = {
                apiVersion: "v1",
                kind: "Namespace",
                metadata: { name: "warning-check", labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted" } },
            };
            assert.equal((await server().create(ns)).status, 201);
            const deployment: Manifest = {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "root", namespace: "warning-check" },
                spec: {
                    selector: { matchLabels: { app: "root" } },
                    template: { metadata: { labels: { app: "root" } }, spec: { containers: [{ name: "c", image: "example.invalid/c@sha256:" + "0".repeat(64) }] } },
                },
            };
            const res = await server().create(deployment, { dryRun: true });
            assert.equal(res.status, 201, refusal(deployment, res));
            assert.ok(res.warnings.some((w) => /violate PodSecurity "restricted:latest"/.test(w)), `no PodSecurity warning in ${JSON.stringify(res.warnings)}`);
        });
    });

    it("the stack config takes exactly the CIDRs a NetworkPolicy ipBlock takes (sessionTestAllowedPrivateEgress)", async () => {
        const samples = ["10.20.0.0/16", "0.0.0.0/0", "fd12:3456::/48", "FD12:3456::/48", "::/0", "10.1.2.3/16", "2001:db8::1/64", "010.1.2.0/24", "10.0.0.0/33", "::ffff:0:0/96", "10.1.2.3"];
        const disagree: string[] = [];
        for (const cidr of samples) {
            const policy: Manifest = {
                apiVersion: "networking.k8s.io/v1",
                kind: "NetworkPolicy",
                metadata: { name: "cidr-check", namespace: "default" },
                spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr } }] }] },
            };
            const res = await server().create(policy, { dryRun: true });
            const config = isCidr(cidr) ? "takes" : "refuses";
            const server_ = res.status === 201 ? "takes" : "refuses";
            if (config !== server_) disagree.push(`${cidr}: the config ${config} it, the API server ${server_} it (${refusal(policy, res)})`);
        }
        assert.deepEqual(disagree, []);
    });

    describe("StreamSpace's Template CRD", () => {
        it("is accepted as a structural schema written from components/streamspaceTemplate.schema.json, and served", async () => {
            const crd = templateCrd(path.join(ROOT, "components", "streamspaceTemplate.schema.json"), TEMPLATE_API_VERSION, TEMPLATE_KIND);
            const res = await server().create(crd);
            assert.equal(res.status, 201, refusal(crd, res));
            assert.deepEqual(res.warnings, []);
            await server().waitFor(crd, "Established", (body) => body.status?.conditions?.some((c: any) => c.type === "Established" && c.status === "True"));
            await server().waitForKind(TEMPLATE_API_VERSION, TEMPLATE_KIND);
            // StreamSpace's own namespace, which its installation creates.
            const ns: Manifest = { apiVersion: "v1", kind: "Namespace", metadata: { name: "streamspace" } };
            assert.equal((await server().create(ns)).status, 201);
        });

        it("refuses a Template field StreamSpace does not know (the CRD is not a bag of anything)", async () => {
            const template: Manifest = {
                apiVersion: TEMPLATE_API_VERSION,
                kind: TEMPLATE_KIND,
                metadata: { name: "unknown-field", namespace: "streamspace" },
                spec: { displayName: "x", baseImage: "example.invalid/x:1", streamingProtocol: "selkies" },
            };
            const res = await server().create(template, { dryRun: true });
            assert.equal(res.status, 400, `expected 400, got ${refusal(template, res)}`);
            assert.match(res.body.message, /unknown field "spec\.streamingProtocol"/);
        });
    });

    for (const variant of VARIANTS) {
        describe(variant.title, () => {
            let run: ProgramRun;
            const created: Created[] = [];
            const refused: string[] = [];

            before(async function () {
                if (!api) this.skip();
                this.timeout(120_000);
                run = await runProgram({ stack: "dev", config: variant.config, env: token });
                assert.equal(run.error, undefined, run.error?.message);
                for (const manifest of inCreateOrder(run.resources.filter(isKubernetesObject).map(manifestOf))) {
                    const response = await server().create(manifest);
                    if (response.status === 201) created.push({ manifest, response });
                    else refused.push(refusal(manifest, response));
                }
            });

            const workload = (type: string, name: string): Manifest => {
                const found = byType(run, type).filter((r) => r.name === name);
                assert.equal(found.length, 1, `the program registered ${found.length} ${type} named ${name}`);
                return manifestOf(found[0]);
            };

            it("every object the program renders is accepted, with unknown fields refused", () => {
                assert.deepEqual(refused, []);
                const kinds = new Set(created.map((c) => c.manifest.kind));
                for (const kind of ["Namespace", "Secret", "Service", "NetworkPolicy", "Deployment", "Job"]) {
                    assert.ok(kinds.has(kind), `no ${kind} was created: the program rendered ${[...kinds].join(", ")}`);
                }
            });

            it("the API server answers with no warning: no PodSecurity finding, no deprecated field", () => {
                const warned = created.filter((c) => c.response.warnings.length > 0).map((c) => `${nameOf(c.manifest)}: ${c.response.warnings.join(" | ")}`);
                assert.ok(created.length > 0, "nothing was created");
                assert.deepEqual(warned, []);
            });

            it("the session namespace enforces `restricted`", () => {
                const namespace = created.find((c) => c.manifest.kind === "Namespace");
                assert.ok(namespace, "no Namespace was created");
                assert.equal(namespace.response.body.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
            });

            it("pods of the session Deployment and of the probe Job are admitted under `restricted`", async () => {
                for (const [type, name] of [
                    ["kubernetes:apps/v1:Deployment", SESSION_DEPLOYMENT],
                    ["kubernetes:batch/v1:Job", PROBE_JOB],
                ]) {
                    const source = workload(type, name);
                    // The ServiceAccount admission plugin refuses a pod whose account does not exist;
                    // kube-controller-manager creates "default" in every namespace, maybe not yet.
                    const accountName = (source.spec as any).template.spec.serviceAccountName ?? "default";
                    const account: Manifest = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: accountName, namespace: source.metadata.namespace } };
                    const existing = await server().get(account);
                    if (existing.status === 404) assert.ok([201, 409].includes((await server().create(account)).status));
                    const pod = podFrom(source, `${name}-admission`);
                    const res = await server().create(pod);
                    assert.equal(res.status, 201, refusal(pod, res));
                    assert.deepEqual(res.warnings, [], `${nameOf(pod)} was admitted with warnings`);
                    // No scheduler runs: the pod is stored, never started.
                    assert.equal(res.body.status?.phase, "Pending");
                }
            });

            it("the same session pod as root is refused by PodSecurity, naming `restricted`", async () => {
                const pod = asRoot(podFrom(workload("kubernetes:apps/v1:Deployment", SESSION_DEPLOYMENT), `${SESSION_DEPLOYMENT}-admission`));
                const res = await server().create(pod);
                assert.equal(res.status, 403, `expected PodSecurity to refuse it, got ${refusal(pod, res)}`);
                assert.match(res.body.message, /violates PodSecurity "restricted:latest"/);
                assert.match(res.body.message, /runAsNonRoot|runAsUser=0/);
            });

            if (variant.config.templatesApply) {
                it("its StreamSpace Templates are accepted by the CRD, and are the objects of the templatesYaml output", async () => {
                    const templates = created.filter((c) => c.manifest.kind === TEMPLATE_KIND).map((c) => c.manifest);
                    assert.ok(templates.length > 0, "the program registered no Template with templatesApply: true");
                    const yaml = parseAllDocuments(String(run.outputs.templatesYaml ?? "")).map((d) => d.toJSON());
                    const byName = (a: Manifest, b: Manifest) => String(a.metadata.name).localeCompare(String(b.metadata.name));
                    assert.deepEqual(yaml.sort(byName), clone(templates).sort(byName));
                    for (const t of templates) {
                        const stored = await server().get(t);
                        assert.equal(stored.status, 200, refusal(t, stored));
                        // Nothing was pruned: the stored spec is the one sent.
                        assert.deepEqual(stored.body.spec, t.spec);
                    }
                });
            }
        });
    }
});
