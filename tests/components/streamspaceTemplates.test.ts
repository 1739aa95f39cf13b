import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";
import { loadCatalog, sourceUrl } from "../../catalog";
import {
    DEFAULT_RESOURCES,
    GENERATED_HEADER,
    Template,
    hasTemplate,
    templateEntries,
    templateFor,
    templateResourceInputs,
    writeTemplateFiles,
} from "../../components/streamspaceTemplates";
import { DIGEST, appYaml, validCatalog } from "../catalog/fixtures";
import { ProgramRun, ROOT, byType, runProgram } from "../harness";

const CUSTOM_RESOURCE = "kubernetes:stream.space/v1alpha1:Template";
const ghcr = { registryServer: "ghcr.io", registryOwner: "acme" };
const token = { GHCR_TOKEN: "test-double-token" };
const schema = JSON.parse(fs.readFileSync(path.join(ROOT, "components", "streamspaceTemplate.schema.json"), "utf8")) as JsonSchema;

// The subset of JSON Schema (draft 7) the Template schema uses; every keyword it contains is checked.
interface JsonSchema {
    type?: "object" | "array" | "string" | "integer" | "boolean";
    enum?: unknown[];
    properties?: Record<string, JsonSchema>;
    required?: string[];
    additionalProperties?: boolean | JsonSchema;
    items?: JsonSchema;
    minItems?: number;
    pattern?: string;
    minLength?: number;
    maxLength?: number;
    minimum?: number;
    maximum?: number;
}

function validate(value: unknown, s: JsonSchema, at = "$"): string[] {
    const errors: string[] = [];
    if (s.enum && !s.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
    switch (s.type) {
        case "object": {
            if (typeof value !== "object" || value === null || Array.isArray(value)) return [...errors, `${at}: expected an object`];
            const obj = value as Record<string, unknown>;
            for (const key of s.required ?? []) if (!(key in obj)) errors.push(`${at}.${key}: required`);
            for (const [key, v] of Object.entries(obj)) {
                const prop = s.properties?.[key];
                if (prop) errors.push(...validate(v, prop, `${at}.${key}`));
                else if (s.additionalProperties === false) errors.push(`${at}.${key}: not allowed`);
                else if (typeof s.additionalProperties === "object") errors.push(...validate(v, s.additionalProperties, `${at}.${key}`));
            }
            break;
        }
        case "array":
            if (!Array.isArray(value)) return [...errors, `${at}: expected an array`];
            if (s.minItems !== undefined && value.length < s.minItems) errors.push(`${at}: at least ${s.minItems} items`);
            if (s.items) value.forEach((v, i) => errors.push(...validate(v, s.items!, `${at}[${i}]`)));
            break;
        case "string":
            if (typeof value !== "string") return [...errors, `${at}: expected a string`];
            if (s.pattern && !new RegExp(s.pattern).test(value)) errors.push(`${at}: ${JSON.stringify(value)} does not match ${s.pattern}`);
            if (s.minLength !== undefined && value.length < s.minLength) errors.push(`${at}: too short`);
            if (s.maxLength !== undefined && value.length > s.maxLength) errors.push(`${at}: too long`);
            break;
        case "integer":
            if (!Number.isInteger(value)) return [...errors, `${at}: expected an integer`];
            if (s.minimum !== undefined && (value as number) < s.minimum) errors.push(`${at}: below ${s.minimum}`);
            if (s.maximum !== undefined && (value as number) > s.maximum) errors.push(`${at}: above ${s.maximum}`);
            break;
        case "boolean":
            if (typeof value !== "boolean") errors.push(`${at}: expected true or false`);
            break;
    }
    return errors;
}

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "templates-"));
}

function templatesOf(run: ProgramRun): Template[] {
    return parseAllDocuments(String(run.outputs.templatesYaml)).map((d) => d.toJS() as Template);
}

describe("StreamSpace Templates", () => {
    describe("Templates (pure builders)", () => {
        it("templateFor: the whole Template of the smallest session image", () => {
            const image = loadCatalog(validCatalog()).get("app");
            const baseImage = `ghcr.io/acme/app@sha256:${DIGEST}`;
            assert.deepEqual(templateFor(image, { baseImage, namespace: "streamspace", sourceUrl: "https://example.test/r" }), {
                apiVersion: "stream.space/v1alpha1",
                kind: "Template",
                metadata: {
                    name: "app",
                    namespace: "streamspace",
                    labels: {
                        "app.kubernetes.io/name": "app",
                        "app.kubernetes.io/version": "1.2.3",
                        "app.kubernetes.io/part-of": "streamspace-images",
                        "app.kubernetes.io/managed-by": "pulumi",
                    },
                    annotations: {
                        "streamspace.dev/gpu": "none",
                        "streamspace.dev/streaming-protocol": "selkies",
                        "streamspace.dev/source": "https://example.test/r/tree/main/images/app",
                    },
                },
                spec: {
                    displayName: "App",
                    description: "An app.",
                    category: "Tools",
                    baseImage,
                    defaultResources: { memory: "2Gi", cpu: "1000m" },
                    ports: [
                        { name: "selkies", containerPort: 8080, protocol: "TCP" },
                        { name: "vnc", containerPort: 5900, protocol: "TCP" },
                    ],
                    env: [
                        { name: "DISPLAY_WIDTH", value: "1920" },
                        { name: "DISPLAY_HEIGHT", value: "1080" },
                        { name: "DISPLAY_DPI", value: "96" },
                        { name: "SELKIES_ENCODER", value: "auto" },
                        { name: "SELKIES_MODE", value: "websockets" },
                        { name: "SELKIES_ENABLE_BASIC_AUTH", value: "false" },
                        { name: "PUID", value: "1000" },
                        { name: "PGID", value: "1000" },
                        { name: "TZ", value: "UTC" },
                    ],
                    volumeMounts: [{ name: "user-home", mountPath: "/config" }],
                    // No port 3000: StreamSpace would not see an HTTP streaming session, so its display port stays off.
                    vnc: { enabled: false },
                    capabilities: ["Network", "Audio", "Clipboard"],
                    tags: ["selkies", "tool"],
                },
            });
        });

        it("a -selkies Template is detected by StreamSpace as an HTTP streaming session: 3000 first, WebSockets, no password asked, the /config home", () => {
            const meta = loadCatalog().get("chrome-selkies");
            const baseImage = `ghcr.io/acme/chrome-selkies@sha256:${DIGEST}`;
            const chrome = templateFor(meta, { baseImage, namespace: "streamspace", sourceUrl: "https://github.com/acme/streamspace-images" });
            assert.equal(chrome.apiVersion, "stream.space/v1alpha1");
            assert.equal(chrome.kind, "Template");
            assert.equal(chrome.metadata.namespace, "streamspace");
            assert.equal(chrome.spec.displayName, meta.title);
            assert.equal(chrome.spec.description, meta.description);
            assert.equal(chrome.spec.category, meta.category);
            assert.equal(chrome.metadata.annotations["streamspace.dev/streaming-protocol"], "selkies");
            // StreamSpace reads the protocol from the first port: 3000 is an HTTP streaming session, 8080 would be Guacamole.
            assert.deepEqual(chrome.spec.ports[0], { name: "web", containerPort: 3000, protocol: "TCP" });
            assert.deepEqual(chrome.spec.ports.map((p) => p.containerPort), [3000, 8080, 5900, 6080]);
            const env = Object.fromEntries(chrome.spec.env.map((e) => [e.name, e.value]));
            assert.equal(env.SELKIES_ENCODER, "auto", "a fixed encoder keeps GPU encoders from ever being picked");
            assert.equal(env.SELKIES_MODE, "websockets", "WebRTC would need a TURN server StreamSpace does not provide");
            assert.equal(env.SELKIES_ENABLE_BASIC_AUTH, "false", "StreamSpace gives a session no password; its own proxy authenticates");
            assert.deepEqual([env.PUID, env.PGID, env.TZ], ["1000", "1000", "UTC"]);
            assert.deepEqual([env.DISPLAY_WIDTH, env.DISPLAY_HEIGHT, env.DISPLAY_DPI], ["1920", "1080", "96"]);
            assert.deepEqual(chrome.spec.volumeMounts, [{ name: "user-home", mountPath: "/config" }]);
            assert.deepEqual(chrome.spec.vnc, { enabled: true, port: 3000 });
            assert.deepEqual(chrome.spec.defaultResources, meta.resources);
            assert.equal(chrome.spec.baseImage, baseImage);
            for (const tag of meta.tags) assert.ok(chrome.spec.tags.includes(tag), `tag ${tag} missing`);
        });

        it("every session image of the catalog gets a Template that satisfies the Template schema", () => {
            // Every session image of the catalog, the tool images (probe, relay) and the base excluded.
            const sessions = loadCatalog().images.filter((i) => i.kind === "session");
            assert.deepEqual(sessions.filter(hasTemplate), sessions);
            for (const image of sessions) {
                const t = templateFor(image, { baseImage: `ghcr.io/acme/${image.name}@sha256:${DIGEST}`, namespace: "streamspace", sourceUrl: sourceUrl() });
                assert.deepEqual(validate(t, schema), [], `${t.metadata.name} breaks the schema`);
            }
        });

        it("templateEntries: the session images, sorted by name, bases and tools left out", () => {
            const catalog = loadCatalog(validCatalog());
            const entry = (name: string) => ({ image: catalog.get(name), digest: `r/${name}` });
            assert.deepEqual(templateEntries([entry("app-kasmvnc"), entry("base"), entry("app")]), [entry("app"), entry("app-kasmvnc")]);
            const tools = loadCatalog().images.filter((i) => i.kind !== "session");
            assert.deepEqual(templateEntries(tools.map((image) => ({ image }))), []);
        });

        it("templateResourceInputs: the Template in the cluster is the Template of the YAML", () => {
            const image = loadCatalog(validCatalog()).get("app-kasmvnc");
            const opts = { namespace: "workspaces", sourceUrl: "https://example.test/r" };
            const template = templateFor(image, { baseImage: `ghcr.io/acme/app-kasmvnc@sha256:${DIGEST}`, ...opts });
            assert.deepEqual(templateResourceInputs(image, template.spec, opts), template);
        });

        it("the schema check catches what the API server or StreamSpace would refuse", () => {
            const image = loadCatalog(validCatalog()).get("app");
            const good = templateFor(image, { baseImage: `ghcr.io/acme/app@sha256:${DIGEST}`, namespace: "streamspace", sourceUrl: "https://example.test/r" });
            assert.deepEqual(validate(good, schema), []);
            const broken = (edit: (t: any) => void): string[] => {
                const copy = JSON.parse(JSON.stringify(good));
                edit(copy);
                return validate(copy, schema);
            };
            assert.match(broken((t) => t.spec.capabilities.push("GPU")).join("\n"), /capabilities\[3\]: "GPU" is not one of/);
            assert.match(broken((t) => delete t.spec.baseImage).join("\n"), /spec\.baseImage: required/);
            assert.match(broken((t) => (t.spec.ports[0].containerPort = "8080")).join("\n"), /containerPort: expected an integer/);
            assert.match(broken((t) => (t.spec.defaultResource = t.spec.defaultResources)).join("\n"), /spec\.defaultResource: not allowed/);
            // Fields the CRD does not know: the API server would prune them, kubectl apply refuses them.
            assert.match(broken((t) => (t.spec.streamingProtocol = "selkies")).join("\n"), /spec\.streamingProtocol: not allowed/);
            assert.match(broken((t) => (t.spec.vnc.protocol = "rfb")).join("\n"), /spec\.vnc\.protocol: not allowed/);
            assert.match(broken((t) => (t.spec.nodeSelector = { gpu: "true" })).join("\n"), /spec\.nodeSelector: not allowed/);
            assert.match(broken((t) => (t.apiVersion = "stream.streamspace.io/v1alpha1")).join("\n"), /apiVersion/);
        });

        it("a KasmVNC flavour streams kasmvnc on 3000, with LinuxServer's env and no Selkies settings", () => {
            const image = loadCatalog(validCatalog()).get("app-kasmvnc");
            const t = templateFor(image, { baseImage: `ghcr.io/acme/app-kasmvnc@sha256:${DIGEST}`, namespace: "ns", sourceUrl: "https://example.test/r" });
            assert.equal(t.metadata.annotations["streamspace.dev/streaming-protocol"], "kasmvnc");
            assert.deepEqual(t.spec.ports, [{ name: "kasmvnc", containerPort: 3000, protocol: "TCP" }]);
            assert.deepEqual(t.spec.vnc, { enabled: true, port: 3000 });
            assert.deepEqual(t.spec.env.map((e) => e.name).sort(), ["PGID", "PUID", "TZ"]);
            assert.equal(t.metadata.annotations["streamspace.dev/flavour-of"], "app");
            assert.ok(t.spec.tags.includes("kasmvnc"));
        });

        it("GPU images are tagged and annotated; others are not; resources default to the CRD's", () => {
            const root = validCatalog();
            const app = loadCatalog(root).get("app");
            const plain = templateFor(app, { baseImage: "r/app:dev", namespace: "ns", sourceUrl: "u" });
            assert.ok(!plain.spec.tags.includes("gpu"));
            assert.equal(plain.metadata.annotations["streamspace.dev/gpu"], "none");
            assert.deepEqual(plain.spec.defaultResources, DEFAULT_RESOURCES);

            fs.writeFileSync(path.join(root, "images", "app", "image.yaml"), appYaml("resources: { cpu: '4', memory: 8Gi }\n").replace("gpu: none", "gpu: required"));
            const gpu = templateFor(loadCatalog(root).get("app"), { baseImage: "r/app:dev", namespace: "ns", sourceUrl: "u" });
            assert.ok(gpu.spec.tags.includes("gpu"));
            assert.equal(gpu.metadata.annotations["streamspace.dev/gpu"], "required");
            assert.deepEqual(gpu.spec.defaultResources, { cpu: "4", memory: "8Gi" });
        });

        it("refuses to make a Template of a base image", () => {
            const base = loadCatalog(validCatalog()).get("base");
            assert.equal(hasTemplate(base), false);
            assert.throws(() => templateFor(base, { baseImage: "x", namespace: "ns", sourceUrl: "u" }), /base image .*only session images get a Template/);
        });

        it("removes files it wrote for images no longer built, and never touches hand-written files", () => {
            const dir = tempDir();
            const image = loadCatalog(validCatalog()).get("app");
            const t = templateFor(image, { baseImage: "r/app:dev", namespace: "ns", sourceUrl: "u" });
            fs.writeFileSync(path.join(dir, "old-app.yaml"), `${GENERATED_HEADER}\nkind: Template\n`);
            fs.writeFileSync(path.join(dir, "hand-made.yaml"), "kind: Template\n");
            writeTemplateFiles(dir, [t]);
            assert.deepEqual(fs.readdirSync(dir).sort(), ["app.yaml", "hand-made.yaml"]);

            fs.writeFileSync(path.join(dir, "app.yaml"), "kind: Template\n");
            assert.throws(() => writeTemplateFiles(dir, [t]), /app\.yaml exists and was not written by this program/);
        });
    });

    describe("the staging stack", () => {
        let dir: string;
        let run: ProgramRun;
        const options = () => ({ stack: "staging", config: { ...ghcr, templatesDir: dir }, env: token });
        before(async () => {
            dir = tempDir();
            run = await runProgram(options());
        });

        it("one Template per built session image, its flavours included and bases left out", () => {
            assert.equal(run.error, undefined, run.error?.message);
            const names = templatesOf(run).map((t) => t.metadata.name);
            const expected = loadCatalog()
                .images.filter((i) => i.platforms.includes("linux/amd64") && i.kind === "session")
                .map((i) => i.name)
                .sort();
            assert.deepEqual(names, expected);
            assert.ok(names.includes("chrome-selkies"));
            assert.ok(!names.includes("selkies-base"), "a base image got a Template");
            // Every session image of the catalog, the tool images (probe, relay) and the base excluded.
            const sessions = loadCatalog().images.filter((i) => i.kind === "session").map((i) => i.name).sort();
            assert.deepEqual([...names].sort(), sessions);
        });

        it("pins every Template to the digest the update pushed: each is templateFor's, in the default namespace", () => {
            const digests = run.outputs.imageDigests as Record<string, string>;
            const catalog = loadCatalog();
            for (const t of templatesOf(run)) {
                assert.match(t.spec.baseImage, /^ghcr\.io\/acme\/[a-z0-9-]+@sha256:[0-9a-f]{64}$/);
                assert.equal(t.spec.baseImage, digests[t.metadata.name]);
                const expected = templateFor(catalog.get(t.metadata.name), { baseImage: digests[t.metadata.name], namespace: "streamspace", sourceUrl: sourceUrl() });
                assert.deepEqual(t, expected);
                assert.deepEqual(validate(t, schema), [], `${t.metadata.name} breaks the schema`);
            }
        });

        it("an update writes one YAML file per Template, the same as the stack output", () => {
            const folder = path.join(dir, "staging");
            const templates = templatesOf(run);
            assert.deepEqual(fs.readdirSync(folder).sort(), templates.map((t) => `${t.metadata.name}.yaml`).sort());
            for (const t of templates) {
                const text = fs.readFileSync(path.join(folder, `${t.metadata.name}.yaml`), "utf8");
                assert.ok(text.startsWith(GENERATED_HEADER));
                assert.deepEqual(parse(text), t);
            }
        });

        it("creates no Template in the cluster unless templatesApply is on", () => {
            assert.equal(byType(run, CUSTOM_RESOURCE).length, 0);
        });

        it("files are byte-identical on a repeated update (no timestamps) and a preview writes nothing", async () => {
            const read = () => fs.readdirSync(path.join(dir, "staging")).map((f) => fs.readFileSync(path.join(dir, "staging", f), "utf8"));
            const first = read();
            await new Promise((r) => setTimeout(r, 1100));
            await runProgram(options());
            assert.deepEqual(read(), first);

            const previewDir = tempDir();
            const preview = await runProgram({ stack: "staging", preview: true, config: { ...ghcr, templatesDir: previewDir }, env: token });
            assert.equal(preview.error, undefined, preview.error?.message);
            assert.deepEqual(fs.readdirSync(previewDir), []);
        });
    });

    it("writes nothing until the resources it waits for (the probe Job) have succeeded", async () => {
        const pulumi = await import("@pulumi/pulumi");
        const { StreamspaceTemplates } = await import("../../components/streamspaceTemplates");
        await pulumi.runtime.setMocks(
            { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs },
            "streamspace-images",
            "staging",
            false,
        );
        const dir = tempDir();
        let passProbe: (id: string) => void = () => undefined;
        // Test double for the Job: its id resolves only when the probe "passes".
        const job = { id: pulumi.output(new Promise<string>((resolve) => (passProbe = resolve))) } as unknown as import("@pulumi/pulumi").CustomResource;
        const chrome = loadCatalog().get("chrome-selkies");
        const templates = new StreamspaceTemplates("gated", {
            images: [{ image: chrome, digest: `ghcr.io/acme/chrome-selkies@sha256:${DIGEST}` }],
            namespace: "streamspace",
            apply: false,
            outputDir: dir,
            sourceUrl: "https://github.com/acme/streamspace-images",
            after: [job],
        });
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
        assert.deepEqual(fs.readdirSync(dir), [], "a Template was written before the probe Job passed");
        passProbe("stream-probe-id");
        const yaml = await new Promise<string>((resolve) => templates.yaml.apply(resolve));
        assert.match(yaml, /chrome-selkies@sha256:/);
        assert.deepEqual(fs.readdirSync(dir), ["chrome-selkies.yaml"]);
    });

    it("with templatesApply on, creates each Template in the cluster: the Template of the YAML, in its namespace, through the cluster's provider", async () => {
        const on = await runProgram({
            stack: "staging",
            config: { ...ghcr, templatesDir: tempDir(), templatesApply: true, templatesNamespace: "workspaces" },
            env: token,
        });
        assert.equal(on.error, undefined, on.error?.message);
        const applied = byType(on, CUSTOM_RESOURCE);
        const expected = templatesOf(on);
        assert.deepEqual(applied.map((r) => r.inputs.metadata.name).sort(), expected.map((t) => t.metadata.name));
        for (const r of applied) {
            const t = expected.find((e) => e.metadata.name === r.inputs.metadata.name)!;
            assert.equal(r.name, `template-${t.metadata.name}`);
            assert.equal(r.inputs.apiVersion, "stream.space/v1alpha1");
            assert.equal(r.inputs.kind, "Template");
            assert.equal(r.inputs.metadata.namespace, "workspaces");
            assert.deepEqual(r.inputs.spec, t.spec);
            assert.deepEqual(r.inputs, t);
            assert.match(String(r.provider), /::cluster::/, "Templates must go to the configured cluster");
        }
    });

    it("a bad templatesNamespace stops the update with the key and a fix", async () => {
        const run = await runProgram({ stack: "dev", config: { templatesNamespace: "Stream_Space" } });
        assert.ok(run.error);
        assert.match(run.error.message, /streamspace-images:templatesNamespace = "Stream_Space": not a Kubernetes namespace name/);
        assert.match(run.error.message, /Fix: pulumi config set templatesNamespace streamspace --stack dev/);
        assert.equal(run.resources.length, 0);
    });
});
