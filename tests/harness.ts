import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { declaredKeys } from "../config";
import { encodeConfigValue, readStackFileConfig } from "../config/stackFile";

/** The repository root. */
export const ROOT = path.resolve(__dirname, "..");
export const PROJECT = "streamspace-images";

export interface RegisteredResource {
    type: string;
    name: string;
    /** Inputs as the resource received them, with secrets unwrapped (see `secretPaths`). */
    inputs: Record<string, any>;
    /** Dotted paths of the inputs that arrived as secrets, e.g. `registry` or `stringData`. */
    secretPaths: string[];
    provider?: string;
    /** The URN the mock engine gave the resource. */
    urn?: string;
    /** For each input property, the URNs of the resources whose outputs it was built from, as the engine records them. */
    propertyDependencies?: Record<string, string[]>;
}

// The marker Pulumi puts on a serialized secret value.
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Removes Pulumi's secret wrappers from serialized inputs, noting where they were. */
export function unwrapSecrets(value: any, at = "", found: string[] = []): any {
    if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${at}[${i}]`, found));
    if (value && typeof value === "object") {
        if (value[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") {
            found.push(at);
            return unwrapSecrets(value.value, at, found);
        }
        const out: Record<string, any> = {};
        for (const [k, v] of Object.entries(value)) out[k] = unwrapSecrets(v, at ? `${at}.${k}` : k, found);
        return out;
    }
    return value;
}

export interface ProgramRun {
    resources: RegisteredResource[];
    /** The stack outputs, resolved (secrets unwrapped). */
    outputs: Record<string, unknown>;
    /** Names of the outputs that were secrets. */
    secretOutputs: string[];
    /** Messages the program logged through pulumi.log. */
    logs: string[];
    /** The error the program stopped with, if any. */
    error?: Error;
}

export interface RunOptions {
    /** Stack whose Pulumi.<stack>.yaml supplies the config; defaults to dev. */
    stack?: string;
    /** Keys (without the project prefix) to add or override; `undefined` removes a key. */
    config?: Record<string, unknown>;
    /** Start from no stack file at all (only `config`). */
    bare?: boolean;
    /** Environment variables during the run (others are left as they are). */
    env?: Record<string, string | undefined>;
    preview?: boolean;
    /**
     * Keys of `config` given as plaintext. Every other value of a key Pulumi.yaml declares secret
     * counts as set with `--secret`, as the CLI reports it (PULUMI_CONFIG_SECRET_KEYS).
     */
    plaintext?: string[];
}

/** Every stack of the repository: one per Pulumi.<stack>.yaml. */
export function stackNames(): string[] {
    return fs
        .readdirSync(ROOT)
        .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

// An encrypted value cannot be decrypted here; a recognisable placeholder stands in for it.
const SECRET_STAND_IN = "test-double-secret";
const encode = (value: unknown): string => encodeConfigValue(value, SECRET_STAND_IN);

/** The config of a stack file as the Pulumi CLI hands it to a program: strings, JSON for the rest. */
export function stackConfig(stack: string): Record<string, string> {
    return readStackFileConfig(stack, ROOT, SECRET_STAND_IN).raw;
}

/** Full keys of the project that Pulumi.yaml declares secret. */
/** The keys the program reads as secrets (set with --secret), as full keys. */
function declaredSecretKeys(): Set<string> {
    return new Set(declaredKeys().filter((k) => k.secret).map((k) => `${PROJECT}:${k.key}`));
}

/** A digest computed from a resource's inputs: the test double for a registry's content digest. */
export function fakeDigest(inputs: unknown): string {
    return "sha256:" + createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}

function mockState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
    switch (type) {
        case "docker:index/image:Image": {
            const repo = String(inputs.imageName).replace(/:[^:/]+$/, "");
            return { ...inputs, repoDigest: `${repo}@${fakeDigest(inputs)}`, baseImageName: inputs.imageName };
        }
        case "docker:index/registryImage:RegistryImage":
            return { ...inputs, sha256Digest: fakeDigest(inputs) };
        case "aws:ec2/launchTemplate:LaunchTemplate":
            // A new launch template is at version 1.
            return { ...inputs, latestVersion: 1 };
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: `test-double-password-${name}` };
        default:
            return { ...inputs, metadata: { name, ...(inputs.metadata ?? {}) } };
    }
}

async function resolveDeep(value: unknown, secrets: { found: boolean }): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const output = value as pulumi.Output<unknown>;
        if (await pulumi.isSecret(output)) secrets.found = true;
        const inner = await new Promise<unknown>((resolve) => output.apply((v) => resolve(v)));
        return resolveDeep(inner, secrets);
    }
    if (value instanceof Promise) return resolveDeep(await value, secrets);
    if (Array.isArray(value)) return Promise.all(value.map((v) => resolveDeep(v, secrets)));
    if (value && typeof value === "object" && !(value instanceof pulumi.Resource)) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = await resolveDeep(v, secrets);
        return out;
    }
    return value;
}

type RegisterCallback = (err: Error | null, response?: { getUrn(): string }) => void;
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getPropertydependenciesMap(): { entries(): Iterable<[string, { getUrnsList(): string[] }]> };
}

/**
 * Notes each resource's URN and property dependencies, which Pulumi's mocks do not pass on: stack
 * policies resolve related resources (a node group's launch template) through them.
 */
function recordDependencies(resources: RegisteredResource[]): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: RegisterRequest, callback: RegisterCallback): void };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) =>
        register(req, (err, response) => {
            const resource = resources.find((r) => r.type === req.getType() && r.name === req.getName() && r.urn === undefined);
            if (resource && response) {
                resource.urn = response.getUrn();
                resource.propertyDependencies = Object.fromEntries([...req.getPropertydependenciesMap().entries()].map(([k, v]) => [k, v.getUrnsList()]));
            }
            callback(err, response);
        });
}

function clearProgramModules(): void {
    for (const id of Object.keys(require.cache)) {
        if (id.startsWith(ROOT) && !id.includes(`${path.sep}node_modules${path.sep}`) && !id.includes(`${path.sep}tests${path.sep}`)) {
            delete require.cache[id];
        }
    }
}

/**
 * Runs the real index.ts under Pulumi mocks with the config of a stack file, and returns every
 * resource it registered with its inputs, and its outputs. Errors are returned, not thrown, so a
 * test can assert both the message and that nothing was registered.
 */
export async function runProgram(opts: RunOptions = {}): Promise<ProgramRun> {
    const stack = opts.stack ?? "dev";
    const resources: RegisteredResource[] = [];
    const logs: string[] = [];
    const file = opts.bare ? { raw: {}, secretKeys: new Set<string>() } : readStackFileConfig(stack, ROOT, SECRET_STAND_IN);
    const raw: Record<string, string> = file.raw;
    const secretKeys = new Set(file.secretKeys);
    const declaredSecret = declaredSecretKeys();
    for (const [key, value] of Object.entries(opts.config ?? {})) {
        const full = key.includes(":") ? key : `${PROJECT}:${key}`;
        secretKeys.delete(full);
        if (value === undefined) delete raw[full];
        else raw[full] = encode(value);
        if (value !== undefined && declaredSecret.has(full) && !(opts.plaintext ?? []).includes(key)) secretKeys.add(full);
    }

    await pulumi.runtime.setMocks(
        {
            newResource: (args: pulumi.runtime.MockResourceArgs) => {
                const secretPaths: string[] = [];
                const inputs = unwrapSecrets(args.inputs, "", secretPaths);
                resources.push({ type: args.type, name: args.name, inputs, secretPaths, provider: args.provider });
                return { id: `${args.name}-id`, state: mockState(args.type, args.name, inputs) };
            },
            call: (args: pulumi.runtime.MockCallArgs) => {
                if (args.token === "aws:eks/getCluster:getCluster") {
                    return { name: args.inputs.name, version: "1.31", vpcConfig: {} };
                }
                return args.inputs;
            },
        },
        PROJECT,
        stack,
        opts.preview ?? false,
    );
    recordDependencies(resources);
    pulumi.runtime.setAllConfig(raw, [...secretKeys]);

    const savedEnv: Record<string, string | undefined> = {};
    // What the CLI tells a program about the values it decrypted.
    const env = { PULUMI_CONFIG_SECRET_KEYS: JSON.stringify([...secretKeys]), ...(opts.env ?? {}) };
    for (const [k, v] of Object.entries(env)) {
        savedEnv[k] = process.env[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    const originalLog = { info: pulumi.log.info, warn: pulumi.log.warn };
    (pulumi.log as any).info = async (msg: string) => void logs.push(`info: ${msg}`);
    (pulumi.log as any).warn = async (msg: string) => void logs.push(`warn: ${msg}`);

    let error: Error | undefined;
    let outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    try {
        clearProgramModules();
        const program = require(path.join(ROOT, "index.ts")) as Record<string, unknown>;
        for (const [name, value] of Object.entries(program)) {
            const secrets = { found: false };
            outputs[name] = await resolveDeep(value, secrets);
            if (secrets.found) secretOutputs.push(name);
        }
        // Let registrations that no output depends on finish too.
        await new Promise((r) => setTimeout(r, 0));
    } catch (e) {
        error = e as Error;
        outputs = {};
    } finally {
        (pulumi.log as any).info = originalLog.info;
        (pulumi.log as any).warn = originalLog.warn;
        for (const [k, v] of Object.entries(savedEnv)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
    return { resources, outputs, secretOutputs, logs, error };
}

/** Resolves an Output (or plain value) to its value. */
export function valueOf<T>(output: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));
}

export function byType(run: ProgramRun, type: string): RegisteredResource[] {
    return run.resources.filter((r) => r.type === type);
}

export function one(run: ProgramRun, type: string, name?: string): RegisteredResource {
    const found = run.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1) {
        throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    }
    return found[0];
}
