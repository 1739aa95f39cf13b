import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { ROOT, RegisteredResource } from "../harness";

/**
 * A real kube-apiserver (with etcd, nothing else) started by scripts/lab/apiserver.sh, and the
 * few REST calls the API server check needs: discovery, create, get. No client library: the
 * check wants the raw answer, Warning headers included, as kubectl and Pulumi receive it.
 */

const LAB = path.join(ROOT, "scripts", "lab");
/** Who the created objects' managed fields name. */
const FIELD_MANAGER = "streamspace-apiserver-check";

/** Why the API server check cannot run here, or undefined when the binaries are built. */
export function missingBinaries(): string | undefined {
    try {
        execFileSync(path.join(LAB, "kubernetes.sh"), ["--print-path", "--no-build", "kube-apiserver", "kube-controller-manager", "etcd"], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
        return undefined;
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        return (err.stderr || err.message).trim().split("\n").pop();
    }
}

function lab(args: string[], timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
        execFile(path.join(LAB, "apiserver.sh"), args, { timeout: timeoutMs }, (error, _stdout, stderr) => {
            if (error) reject(new Error(`scripts/lab/apiserver.sh ${args[0]} failed (${error.message.split("\n")[0]}):\n${stderr}`));
            else resolve();
        });
    });
}

export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
    [key: string]: unknown;
}

export interface ApiResponse {
    status: number;
    body: any;
    /** The texts of the response's Warning headers (PodSecurity, deprecations, unknown fields when not strict). */
    warnings: string[];
}

interface DiscoveredResource {
    name: string;
    namespaced: boolean;
    kind: string;
}

// A Warning header is `299 - "text"` (RFC 7234 form, text quoted with \" escapes).
function warningText(header: string): string {
    const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(header);
    return m ? m[1].replace(/\\(.)/g, "$1") : header;
}

export class ApiServer {
    private readonly discovery = new Map<string, DiscoveredResource[]>();

    private constructor(
        readonly stateDir: string,
        readonly server: URL,
        private readonly tls: { ca: Buffer; cert: Buffer; key: Buffer },
    ) {}

    /** Starts etcd and kube-apiserver; they stop with `stop()`, or on their own when this process ends. */
    static async start(timeoutMs: number): Promise<ApiServer> {
        // Empty, as start wants it; start removes it when it fails, stop when it is done.
        const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "apiserver-check-"));
        await lab(["start", stateDir, "--owner", String(process.pid)], timeoutMs);
        const config = parseYaml(fs.readFileSync(path.join(stateDir, "kubeconfig"), "utf8"));
        const cluster = config.clusters[0].cluster;
        const user = config.users[0].user;
        return new ApiServer(stateDir, new URL(cluster.server), {
            ca: fs.readFileSync(cluster["certificate-authority"]),
            cert: fs.readFileSync(user["client-certificate"]),
            key: fs.readFileSync(user["client-key"]),
        });
    }

    async stop(): Promise<void> {
        await lab(["stop", this.stateDir], 60_000);
    }

    request(method: string, pathAndQuery: string, body?: unknown, contentType = "application/json"): Promise<ApiResponse> {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        return new Promise((resolve, reject) => {
            const req = https.request(
                new URL(pathAndQuery, this.server),
                {
                    method,
                    ...this.tls,
                    headers: { accept: "application/json", ...(payload ? { "content-type": contentType, "content-length": Buffer.byteLength(payload) } : {}) },
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        // rawHeaders keeps repeated Warning headers apart; `headers` would join them with commas.
                        const warnings: string[] = [];
                        for (let i = 0; i < res.rawHeaders.length; i += 2) {
                            if (res.rawHeaders[i].toLowerCase() === "warning") warnings.push(warningText(res.rawHeaders[i + 1]));
                        }
                        let parsed: unknown = text;
                        try {
                            parsed = JSON.parse(text);
                        } catch {
                            // not JSON (a plain-text error): kept as text
                        }
                        resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
                    });
                },
            );
            req.on("error", reject);
            if (payload) req.write(payload);
            req.end();
        });
    }

    /** What the server serves for an apiVersion: resource names, kinds, whether namespaced. */
    private async resourcesOf(apiVersion: string): Promise<DiscoveredResource[]> {
        if (!this.discovery.has(apiVersion)) {
            const res = await this.request("GET", apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
            if (res.status !== 200) throw new Error(`the API server does not serve ${apiVersion} (${res.status}: ${res.body?.message ?? res.body})`);
            this.discovery.set(
                apiVersion,
                (res.body.resources as DiscoveredResource[]).filter((r) => !r.name.includes("/")),
            );
        }
        return this.discovery.get(apiVersion)!;
    }

    /** The collection URL of a manifest's kind (in its namespace), as discovery names it. */
    async collectionPath(m: Manifest): Promise<string> {
        const resource = (await this.resourcesOf(m.apiVersion)).find((r) => r.kind === m.kind);
        if (!resource) {
            // Forget the answer: a CRD created since then may add the kind.
            this.discovery.delete(m.apiVersion);
            throw new Error(`the API server serves no kind ${m.kind} in ${m.apiVersion}`);
        }
        const root = m.apiVersion.includes("/") ? `/apis/${m.apiVersion}` : `/api/${m.apiVersion}`;
        if (!resource.namespaced) return `${root}/${resource.name}`;
        if (!m.metadata.namespace) throw new Error(`${m.kind} ${m.metadata.name} is namespaced but names no namespace`);
        return `${root}/namespaces/${m.metadata.namespace}/${resource.name}`;
    }

    /**
     * Creates an object. Strict field validation: a field the schema does not know is an error
     * (the default only warns and drops it, and Pulumi would report success).
     */
    async create(m: Manifest, opts: { dryRun?: boolean } = {}): Promise<ApiResponse> {
        const query = new URLSearchParams({ fieldValidation: "Strict", fieldManager: FIELD_MANAGER });
        if (opts.dryRun) query.set("dryRun", "All");
        return this.request("POST", `${await this.collectionPath(m)}?${query}`, m);
    }

    async get(m: Manifest): Promise<ApiResponse> {
        return this.request("GET", `${await this.collectionPath(m)}/${m.metadata.name}`);
    }

    /** Waits until discovery lists a kind (a new CRD's kind is served a moment after it is Established). */
    async waitForKind(apiVersion: string, kind: string, timeoutMs = 30_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            this.discovery.delete(apiVersion);
            const kinds = await this.resourcesOf(apiVersion).then((rs) => rs.map((r) => r.kind), (e: Error) => e.message);
            if (Array.isArray(kinds) && kinds.includes(kind)) return;
            if (Date.now() > deadline) throw new Error(`the API server does not serve ${kind} in ${apiVersion} after ${timeoutMs / 1000} s: ${kinds}`);
            await new Promise((r) => setTimeout(r, 250));
        }
    }

    /** Waits until `check` holds for the object, or throws after `timeoutMs` with the last answer. */
    async waitFor(m: Manifest, what: string, check: (body: any) => boolean, timeoutMs = 30_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        let last: ApiResponse | undefined;
        while (Date.now() < deadline) {
            last = await this.get(m).catch(() => undefined);
            if (last?.status === 200 && check(last.body)) return;
            await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error(`${m.kind} ${m.metadata.name}: not ${what} after ${timeoutMs / 1000} s; last answer: ${JSON.stringify(last?.body)?.slice(0, 500)}`);
    }
}

// `kubernetes:<group>/<version>:<Kind>`; the core group is written `core`.
const KUBERNETES_TYPE = /^kubernetes:([^/:]+)\/([^/:]+):([A-Za-z0-9]+)$/;

/** Whether a registered resource is a Kubernetes object (not the provider, not a component). */
export function isKubernetesObject(r: RegisteredResource): boolean {
    return KUBERNETES_TYPE.test(r.type);
}

/**
 * The object a Kubernetes resource of the program sends to the API server: its inputs (secrets
 * already unwrapped by the harness). A resource without a name gets one from the server, as
 * Pulumi's auto-naming would give it a suffix.
 */
export function manifestOf(r: RegisteredResource): Manifest {
    const m = KUBERNETES_TYPE.exec(r.type);
    if (!m) throw new Error(`${r.type} ${r.name} is not a Kubernetes object type`);
    const [, group, version, kind] = m;
    const apiVersion = group === "core" ? version : `${group}/${version}`;
    if (r.inputs.apiVersion !== apiVersion || r.inputs.kind !== kind) {
        throw new Error(`${r.type} ${r.name}: its inputs say ${r.inputs.apiVersion} ${r.inputs.kind}, its type says ${apiVersion} ${kind}`);
    }
    const manifest = JSON.parse(JSON.stringify(r.inputs)) as Manifest;
    manifest.metadata = manifest.metadata ?? {};
    if (!manifest.metadata.name) manifest.metadata.generateName = `${r.name}-`;
    return manifest;
}

// The order a cluster needs: namespaces, then definitions, then what workloads reference, then workloads.
const CREATE_ORDER = ["Namespace", "CustomResourceDefinition", "ServiceAccount", "Secret", "ConfigMap", "Role", "RoleBinding", "Service", "NetworkPolicy"];
const rank = (m: Manifest): number => {
    const i = CREATE_ORDER.indexOf(m.kind);
    if (i >= 0) return i;
    // Built-in workloads next, custom resources (whose CRD must be served first) last.
    return m.apiVersion.includes(".") && !m.apiVersion.includes("k8s.io") ? CREATE_ORDER.length + 1 : CREATE_ORDER.length;
};

/** Manifests in the order they can be created in; stable within a rank. */
export function inCreateOrder(manifests: Manifest[]): Manifest[] {
    return manifests.map((m, i) => ({ m, i })).sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i).map((x) => x.m);
}

/** A one-line account of a refused request, for assertion messages. */
export function refusal(m: Manifest, res: ApiResponse): string {
    const message = typeof res.body === "object" && res.body ? res.body.message : String(res.body);
    return `${m.kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ""}${m.metadata.name ?? m.metadata.generateName}: ${res.status} ${message}`;
}

// The JSON Schema (draft 7) subset of components/streamspaceTemplate.schema.json, and what an
// OpenAPI v3 structural schema of a CRD takes from it.
interface JsonSchema {
    type?: string;
    enum?: unknown[];
    properties?: Record<string, JsonSchema>;
    required?: string[];
    additionalProperties?: boolean | JsonSchema;
    items?: JsonSchema;
    [key: string]: unknown;
}

const KEPT_KEYWORDS = ["description", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "required"];

/**
 * The CRD schema of one JSON Schema node. A structural schema needs a type on every node, so an
 * `enum` without one gets the type of its values; `additionalProperties: false` is not allowed in
 * a CRD (the API server prunes, and strict field validation refuses, unknown fields instead); a
 * node that names neither type, enum nor properties keeps what it is given
 * (`x-kubernetes-preserve-unknown-fields`).
 */
export function structuralSchema(s: JsonSchema, at = "$"): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let type = s.type;
    if (!type && s.enum) {
        const types = new Set(s.enum.map((v) => (Number.isInteger(v) ? "integer" : typeof v)));
        if (types.size !== 1) throw new Error(`${at}: an enum of mixed types (${[...types].join(", ")}) has no structural type`);
        type = [...types][0];
    }
    if (!type && !s.properties) return { "x-kubernetes-preserve-unknown-fields": true };
    out.type = type ?? "object";
    for (const key of KEPT_KEYWORDS) if (s[key] !== undefined) out[key] = s[key];
    if (s.enum) out.enum = s.enum;
    if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, structuralSchema(v, `${at}.${k}`)]));
    if (typeof s.additionalProperties === "object") out.additionalProperties = structuralSchema(s.additionalProperties, `${at}.*`);
    if (s.items) out.items = structuralSchema(s.items, `${at}[]`);
    return out;
}

/**
 * StreamSpace's Template CRD (templates.stream.space), its spec written from the JSON Schema the
 * program's Templates are held to. The status belongs to StreamSpace's controller and is not in
 * that schema, so it is kept as given.
 */
export function templateCrd(schemaFile: string, apiVersion: string, kind: string): Manifest {
    const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8")) as JsonSchema;
    const [group, version] = apiVersion.split("/");
    const plural = `${kind.toLowerCase()}s`;
    return {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: `${plural}.${group}` },
        spec: {
            group,
            scope: "Namespaced",
            names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List`, shortNames: ["tpl"] },
            versions: [
                {
                    name: version,
                    served: true,
                    storage: true,
                    schema: {
                        openAPIV3Schema: {
                            type: "object",
                            properties: {
                                spec: structuralSchema(schema.properties!.spec, "$.spec"),
                                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                            },
                        },
                    },
                },
            ],
        },
    };
}
