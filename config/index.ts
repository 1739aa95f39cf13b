import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { z } from "zod";
import { GithubConfig, githubSection } from "./github";
import { GpuConfig, gpuSection } from "./gpu";
import { ImagesConfig, imagesSection } from "./images";
import { KubernetesConfig, kubernetesSection } from "./kubernetes";
import { PolicyConfig, policySection } from "./policy";
import { ConfigError, PROJECT, Problem, closest, shellQuote } from "./problems";
import { RegistryConfig, registrySection } from "./registry";
import { Section, SectionContext } from "./section";
import { SessionTestConfig, sessionTestSection } from "./sessionTest";
import { misplacedKeysMessage, misplacedStackFileKeys } from "./stackFile";
import { TemplatesConfig, templatesSection } from "./templates";

export { ConfigError, PROJECT, formatProblems } from "./problems";
export type { Problem } from "./problems";

/** The whole stack configuration, parsed and checked once; components receive parts of it. */
export interface StackConfig {
    stack: string;
    registry: RegistryConfig;
    images: ImagesConfig;
    kubernetes: KubernetesConfig;
    gpu: GpuConfig;
    sessionTest: SessionTestConfig;
    templates: TemplatesConfig;
    github: GithubConfig;
    policy: PolicyConfig;
}

// Order matters only for the order of messages and of docs/configuration.md's reference.
export const SECTIONS = {
    registry: registrySection,
    images: imagesSection,
    kubernetes: kubernetesSection,
    gpu: gpuSection,
    sessionTest: sessionTestSection,
    templates: templatesSection,
    github: githubSection,
    policy: policySection,
} as const;

type AnySection = Section<z.ZodRawShape, unknown>;
const allSections = Object.values(SECTIONS) as unknown as AnySection[];

/** Every key of the project namespace, with its section, example and whether it is a secret. */
export function declaredKeys(): { key: string; example: string; secret: boolean; schema: z.ZodTypeAny }[] {
    return allSections.flatMap((s) =>
        Object.keys(s.keys).map((key) => ({
            key,
            example: (s.examples as Record<string, string>)[key],
            secret: ((s.secretKeys ?? []) as string[]).includes(key),
            schema: s.keys[key] as z.ZodTypeAny,
        })),
    );
}

export interface ParseOptions {
    stack: string;
    /** Environment variables the config may read (GHCR_TOKEN). */
    env?: Readonly<Record<string, string | undefined>>;
    /** Every image name in the catalog. */
    imageNames: readonly string[];
    /**
     * The full keys (`streamspace-images:registryToken`) whose values reached the program encrypted
     * (set with `--secret`). Undefined: unknown, and plaintext secrets are not looked for.
     */
    secretKeys?: ReadonlySet<string>;
}

/**
 * Namespaces whose keys this program leaves to others: the providers it uses read their own
 * (`kubernetes:context`, `aws:region`), and `pulumi:` holds the engine's. Any other namespace is a
 * mistake (`streamspace:registryOwner`) that would be ignored without a word.
 */
export const PROVIDER_NAMESPACES = ["pulumi", "aws", "gcp", "kubernetes", "docker", "github", "random"] as const;

/** How a value nobody should see in a log is shown instead: its length only. */
function hidden(value: string): string {
    return `(hidden: ${value.length} character${value.length === 1 ? "" : "s"})`;
}


/**
 * Re-stores a plaintext secret encrypted without printing it: the shell reads it back. A map
 * (`{prod: ..., staging: ...}`) is re-stored entry by entry, so that it stays a map.
 */
function reencryptCommand(key: string, value: string, stack: string): string {
    let entries: string[] | undefined;
    try {
        const parsed = JSON.parse(value) as unknown;
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) entries = Object.keys(parsed);
    } catch {
        entries = undefined;
    }
    const again = (path: string, flag: string) =>
        `pulumi config set ${flag}${shellQuote(path)} "$(pulumi config get ${flag}${shellQuote(path)} --stack ${stack})" --secret --stack ${stack}`;
    if (!entries) return again(key, "");
    return entries.map((e) => again(`${key}.${e}`, "--path ")).join("  and  ");
}

/** A declared key: its example, whether it is a secret, and its schema (declaredKeys). */
type DeclaredKey = ReturnType<typeof declaredKeys>[number];
/** The declared keys by name. */
type KnownKeys = ReadonlyMap<string, DeclaredKey>;

/**
 * Parses the raw config of one stack (keys with or without the `streamspace-images:` prefix,
 * values as Pulumi hands them: strings, with JSON text for numbers, booleans and lists).
 * Throws ConfigError listing every problem; returns the typed configuration otherwise.
 */
export function parseStackConfig(raw: Readonly<Record<string, string>>, opts: ParseOptions): StackConfig {
    const env = opts.env ?? {};
    const problems: Problem[] = [];
    const { values, foreign } = splitByNamespace(raw);
    const keys = declaredKeys();
    const known: KnownKeys = new Map(keys.map((k) => [k.key, k]));
    const setCommand = (key: string, value?: string) => setCommandFor(known, opts.stack, key, value);
    const shown = (key: string, value: unknown): string | undefined => shownValue(known, key, value);

    // Keys a fix moves a value to: a later "not set" about them would say the same thing again.
    const movedTo = new Set<string>();
    unknownKeyProblems(values, known, opts, problems, movedTo);
    foreignKeyProblems(raw, foreign, known, opts, problems, movedTo);
    plaintextSecretProblems(values, known, opts, problems);

    const ctx: SectionContext = {
        stack: opts.stack,
        env,
        imageNames: opts.imageNames,
        isSet: (key) => key in values,
        problem: ({ key, value, message, fix }) =>
            problems.push({ key, value: shown(key, value), message, fix: fix ?? setCommand(key) }),
        setCommand,
    };

    const built = buildSections(values, ctx, problems, shown);
    checkAcrossSections(built as unknown as StackConfig, { ...ctx, problem: (p) => (movedTo.has(p.key) ? undefined : ctx.problem(p)) });
    if (problems.length > 0) throw new ConfigError(opts.stack, problems);
    return { stack: opts.stack, ...(built as Omit<StackConfig, "stack">) };
}

/**
 * Splits the raw config by namespace: the values of this project's keys (by key without prefix),
 * and the keys of namespaces neither this program nor its providers read, as [full key, namespace, key].
 */
function splitByNamespace(raw: Readonly<Record<string, string>>): { values: Record<string, string>; foreign: [string, string, string][] } {
    const values: Record<string, string> = {};
    const foreign: [string, string, string][] = [];
    for (const [fullKey, value] of Object.entries(raw)) {
        const [namespace, key] = fullKey.includes(":") ? fullKey.split(/:(.*)/s, 2) : [PROJECT, fullKey];
        if (namespace === PROJECT) values[key] = value;
        else if (!(PROVIDER_NAMESPACES as readonly string[]).includes(namespace)) foreign.push([fullKey, namespace, key]);
    }
    return { values, foreign };
}

/** `pulumi config set <key> <value or example> --stack <stack>`, quoted for a POSIX shell. */
function setCommandFor(known: KnownKeys, stack: string, key: string, value?: string): string {
    const k = known.get(key);
    const example = value ?? k?.example ?? "<value>";
    const secret = k?.secret && !example.includes("--secret") ? " --secret" : "";
    // A command substitution stays as written; anything else is quoted, placeholders such as
    // <token> included, which the shell would otherwise take for a redirection.
    const literal = (v: string) => (/^"\$\(.*\)"$/.test(v) ? v : shellQuote(v));
    // A list's first item, or a map's first entry, set through --path.
    const entry = /^\{\s*([A-Za-z0-9_-]+):\s*([^,}]*?)\s*[,}]/.exec(example);
    const quoted = example.startsWith("[")
        ? `--path '${key}[0]' ${shellQuote(example.slice(1, -1).split(",")[0])}`
        : entry
          ? `--path '${key}.${entry[1]}' ${literal(entry[2])}`
          : `${key} ${literal(example)}`;
    return `pulumi config set ${quoted}${secret} --stack ${stack}`;
}

/** A value as a problem shows it: a secret key's never, anything not a string as JSON. */
function shownValue(known: KnownKeys, key: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (known.get(key)?.secret) return "(secret)";
    return typeof value === "string" ? value : JSON.stringify(value);
}

/** Moves a value to the right key without ever printing it: the shell reads it from the old key. */
function moveCommand(known: KnownKeys, opts: ParseOptions, from: string, to: string, fromFull: string): string {
    const isSecretValue = opts.secretKeys?.has(fromFull) ?? false;
    const secret = known.get(to)?.secret || isSecretValue ? " --secret" : "";
    const get = `pulumi config get ${shellQuote(from)} --stack ${opts.stack}`;
    return `pulumi config set ${to} "$(${get})"${secret} --stack ${opts.stack} && pulumi config rm ${shellQuote(from)} --stack ${opts.stack}`;
}

/** Keys of this project that no section declares; the key each fix moves a value to goes into movedTo. */
function unknownKeyProblems(values: Record<string, string>, known: KnownKeys, opts: ParseOptions, problems: Problem[], movedTo: Set<string>): void {
    for (const key of Object.keys(values)) {
        if (!known.has(key)) {
            const guess = closest(key, [...known.keys()]);
            if (guess) movedTo.add(guess);
            // An unknown key may hold anything, a token stored under the wrong name included: its
            // value is never shown, only its length, and the fix moves it without printing it.
            problems.push({
                key,
                value: hidden(values[key]),
                message: `unknown key${guess ? `; did you mean '${guess}'?` : ""}. The keys are listed in docs/configuration.md`,
                fix: guess ? moveCommand(known, opts, key, guess, `${PROJECT}:${key}`) : `pulumi config rm ${key} --stack ${opts.stack}`,
            });
        }
    }
}

/** Keys of a namespace nobody reads; the key each fix moves a value to goes into movedTo. */
function foreignKeyProblems(
    raw: Readonly<Record<string, string>>,
    foreign: [string, string, string][],
    known: KnownKeys,
    opts: ParseOptions,
    problems: Problem[],
    movedTo: Set<string>,
): void {
    for (const [fullKey, namespace, key] of foreign) {
        const target = known.has(key) ? key : closest(key, [...known.keys()]);
        if (target) movedTo.add(target);
        problems.push({
            key: fullKey,
            value: hidden(raw[fullKey]),
            message: `a key of namespace '${namespace}', which neither this program ('${PROJECT}') nor its providers (${PROVIDER_NAMESPACES.join(", ")}) read: it would be ignored${target ? `; meant ${PROJECT}:${target}?` : ""}`,
            fix: target ? moveCommand(known, opts, fullKey, target, fullKey) : `pulumi config rm ${shellQuote(fullKey)} --stack ${opts.stack}`,
        });
    }
}

/** A declared secret held in plaintext sits readable in the stack file and the state. */
function plaintextSecretProblems(values: Record<string, string>, known: KnownKeys, opts: ParseOptions, problems: Problem[]): void {
    if (!opts.secretKeys) return;
    for (const key of Object.keys(values)) {
        if (known.get(key)?.secret && values[key] !== "" && !opts.secretKeys.has(`${PROJECT}:${key}`)) {
            problems.push({
                key,
                value: "(secret)",
                message: "a secret stored in plaintext: anyone who reads the stack file or its state reads it",
                fix: reencryptCommand(key, values[key], opts.stack),
            });
        }
    }
}

/**
 * Builds every section. Every key is read on its own, so that one value of the wrong type hides
 * nothing else: the section's checks still run, on the key's default in its place, and say nothing
 * more about it.
 */
function buildSections(
    values: Record<string, string>,
    ctx: SectionContext,
    problems: Problem[],
    shown: (key: string, value: unknown) => string | undefined,
): Record<string, unknown> {
    const built: Record<string, unknown> = {};
    for (const [name, section] of Object.entries(SECTIONS) as [string, AnySection][]) {
        const data: Record<string, unknown> = {};
        const unreadable = new Set<string>();
        for (const [key, schema] of Object.entries(section.keys) as [string, z.ZodTypeAny][]) {
            const result = schema.safeParse(values[key]);
            if (result.success) {
                data[key] = result.data;
                continue;
            }
            unreadable.add(key);
            for (const issue of result.error.issues) {
                problems.push({ key, value: shown(key, values[key]), message: issue.message, fix: ctx.setCommand(key) });
            }
            const fallback = schema.safeParse(undefined);
            data[key] = fallback.success ? fallback.data : undefined;
        }
        const sectionCtx: SectionContext = { ...ctx, problem: (p) => (unreadable.has(p.key) ? undefined : ctx.problem(p)) };
        built[name] = section.build(data as never, sectionCtx);
    }
    return built;
}

function checkAcrossSections(c: StackConfig, ctx: SectionContext): void {
    if (!c.images.enabled && c.sessionTest.enabled) {
        ctx.problem({
            key: "sessionTestEnabled",
            value: "true",
            message: "the session test deploys images this stack builds, but imagesEnabled is false",
            fix: `pulumi config set sessionTestEnabled false --stack ${ctx.stack}  (or: pulumi config set imagesEnabled true --stack ${ctx.stack})`,
        });
    }
    if (c.images.enabled && c.images.push && !c.registry.token && !c.registry.local) {
        ctx.problem({
            key: "registryToken",
            message:
                c.registry.server === "ghcr.io"
                    ? `imagePush is on and ${c.registry.server} needs credentials, but neither registryToken nor the GHCR_TOKEN environment variable is set`
                    : `imagePush is on and ${c.registry.server} needs credentials, but registryToken is not set (GHCR_TOKEN is sent to ghcr.io only)`,
            fix:
                c.registry.server === "ghcr.io"
                    ? `${ctx.setCommand("registryToken")}  (or export GHCR_TOKEN, or: pulumi config set imagePush false --stack ${ctx.stack})`
                    : `${ctx.setCommand("registryToken")}  (or: pulumi config set imagePush false --stack ${ctx.stack})`,
        });
    }
}

/** Reads the running stack's configuration from the Pulumi engine and parses it. */
export function loadStackConfig(imageNames: readonly string[]): StackConfig {
    // Settings the CLI never hands over (outside `config:` of the stack file) would be lost silently.
    const file = `Pulumi.${pulumi.getStack()}.yaml`;
    if (fs.existsSync(file)) {
        const misplaced = misplacedStackFileKeys(parse(fs.readFileSync(file, "utf8")));
        if (misplaced.length > 0) throw new pulumi.RunError(misplacedKeysMessage(file, misplaced));
    }
    const raw = pulumi.runtime.allConfig();
    return parseStackConfig(raw, {
        stack: pulumi.getStack(),
        env: process.env,
        imageNames,
        secretKeys: engineSecretKeys(process.env.PULUMI_CONFIG_SECRET_KEYS),
    });
}

/**
 * The keys whose values the engine decrypted, from the list the CLI gives a program
 * (PULUMI_CONFIG_SECRET_KEYS, JSON; keys as `project:key` or `project:config:key`). Without the
 * list (an engine that does not send it) nothing is known, and plaintext secrets are not looked for.
 */
export function engineSecretKeys(listed: string | undefined): Set<string> | undefined {
    if (!listed) return undefined;
    let keys: unknown;
    try {
        keys = JSON.parse(listed);
    } catch {
        return undefined;
    }
    if (!Array.isArray(keys)) return undefined;
    return new Set(keys.filter((k): k is string => typeof k === "string").map((k) => k.replace(/^([^:]+):config:/, "$1:")));
}
