import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { parse as parseYaml } from "yaml";
import { TEMPLATE_API_VERSION, TEMPLATE_KIND } from "../../components/streamspaceTemplates";
import { ApiServer, templateCrd } from "../kubernetes/apiServer";

/**
 * What the real-engine checks share: the Pulumi CLI and Kubernetes provider built by
 * scripts/lab/engine.sh, the dev stack in a work folder of its own with a local file backend, and
 * the program (index.ts, unchanged) run through the Automation API's inline mode, which needs no
 * Node.js language host.
 */

export const ROOT = path.resolve(__dirname, "..", "..");
const ENGINE = path.join(ROOT, "scripts", "lab", "engine.sh");
const PIECES = ["pulumi", "kubernetes"];
export const STACK = "dev";

/** The engine's bin folders (the CLI's first), or why they are not there. */
export function engineBins(): { bins?: string[]; missing?: string } {
    try {
        const out = execFileSync(ENGINE, ["--print-path", "--no-build", ...PIECES], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
        return { bins: out.trim().split(":") };
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        return { missing: (err.stderr || err.message).trim().split("\n").pop() };
    }
}

/** index.ts, evaluated afresh for each operation as `pulumi up` would run it, with `transforms` registered first. */
export function labProgram(...transforms: pulumi.ResourceTransform[]): () => Promise<Record<string, unknown>> {
    return async () => {
        for (const file of Object.keys(require.cache)) {
            if (file.startsWith(ROOT + path.sep) && !file.includes(`${path.sep}node_modules${path.sep}`) && !file.startsWith(__dirname)) {
                delete require.cache[file];
            }
        }
        for (const transform of transforms) pulumi.runtime.registerResourceTransform(transform);
        return { ...require(path.join(ROOT, "index.ts")) };
    };
}

/** What StreamSpace's installation provides before the stack runs: its namespace and the Template CRD. */
export async function installStreamSpace(api: ApiServer): Promise<void> {
    const crd = templateCrd(path.join(ROOT, "components", "streamspaceTemplate.schema.json"), TEMPLATE_API_VERSION, TEMPLATE_KIND);
    const created = await api.create(crd);
    if (created.status !== 201) throw new Error(`the Template CRD was refused (${created.status}): ${JSON.stringify(created.body)}`);
    await api.waitFor(crd, "Established", (body) => body.status?.conditions?.some((c: any) => c.type === "Established" && c.status === "True"));
    await api.waitForKind(TEMPLATE_API_VERSION, TEMPLATE_KIND);
    const namespace = await api.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "streamspace" } });
    if (namespace.status !== 201) throw new Error(`the streamspace namespace was refused (${namespace.status})`);
}

export interface LabStack {
    stack: Stack;
    /** The work folder: project/ (Pulumi.yaml and the dev stack's file), state/ (the backend), home/, templates/. */
    work: string;
}

/**
 * The dev stack in a new work folder (the workspace writes the lab's settings into that copy, never
 * into the repository's Pulumi.dev.yaml), pointed at `api`, with `config` on top (paths, as
 * `pulumi config set --path`).
 */
export async function labStack(
    api: ApiServer,
    bins: string[],
    program: () => Promise<Record<string, unknown>>,
    config: Record<string, { value: string; secret?: boolean }>,
): Promise<LabStack> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "engine-check-"));
    const project = path.join(work, "project");
    fs.mkdirSync(project);
    for (const file of ["Pulumi.yaml", `Pulumi.${STACK}.yaml`]) fs.copyFileSync(path.join(ROOT, file), path.join(project, file));
    fs.mkdirSync(path.join(work, "state"));
    fs.mkdirSync(path.join(work, "home"));

    const [pulumiBin, ...pluginBins] = bins;
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(pulumiBin) });
    const kubeconfig = fs.readFileSync(path.join(api.stateDir, "kubeconfig"), "utf8");
    const workspace = await LocalWorkspace.create({
        workDir: project,
        program,
        pulumiCommand,
        pulumiHome: path.join(work, "home"),
        envVars: {
            PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
            // The Kubernetes provider is found on PATH (an ambient plugin); nothing is downloaded.
            PATH: [...pluginBins, process.env.PATH].join(path.delimiter),
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_UPDATE_CHECK: "true",
        },
    });
    const stack = await Stack.create(STACK, workspace);
    await stack.setAllConfig(
        {
            "streamspace-images:kubeconfig": { value: kubeconfig, secret: true },
            "streamspace-images:kubeContext": { value: (parseYaml(kubeconfig) as { "current-context": string })["current-context"] },
            "streamspace-images:templatesApply": { value: "true" },
            "streamspace-images:templatesDir": { value: path.join(work, "templates") },
            ...config,
        },
        true,
    );
    return { stack, work };
}

/** The paths in `value` (a stack export) where `needle` appears in plain text, with the resource. */
export function plainTextPaths(value: unknown, needle: string, at = "$"): string[] {
    if (typeof value === "string") return value.includes(needle) ? [at] : [];
    if (Array.isArray(value)) return value.flatMap((v, i) => plainTextPaths(v, needle, `${at}[${i}]`));
    if (value && typeof value === "object") {
        const o = value as Record<string, unknown>;
        const label = typeof o.urn === "string" ? `${at}<${o.urn}>` : at;
        return Object.entries(o).flatMap(([k, v]) => plainTextPaths(v, needle, `${label}.${k}`));
    }
    return [];
}

/** Polls `check` every half second until it returns a value, for at most `timeoutMs`. */
export async function waitUntil<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`not within ${timeoutMs / 1000} s: ${what}`);
        await new Promise((r) => setTimeout(r, 500));
    }
}

/** "create 14, same 2": an engine change summary in one line. */
export function changes(summary: Record<string, number> | undefined): string {
    return Object.entries(summary ?? {})
        .map(([op, n]) => `${op} ${n}`)
        .join(", ");
}

/** The engine operations of a check, timed, printed as a table at its end. */
export class Steps {
    readonly steps: Array<{ name: string; seconds: number; summary: string }> = [];

    async timed<T>(name: string, run: () => Promise<T>, summary: (r: T) => string): Promise<T> {
        const start = Date.now();
        const result = await run();
        this.steps.push({ name, seconds: (Date.now() - start) / 1000, summary: summary(result) });
        return result;
    }

    table(): string {
        if (this.steps.length === 0) return "";
        const rows = this.steps.map((s) => `  ${s.name.padEnd(26)} ${s.seconds.toFixed(1).padStart(8)}  ${s.summary}`);
        return ["", "  step                        seconds  result", ...rows].join("\n");
    }
}
