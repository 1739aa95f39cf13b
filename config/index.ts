import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { GithubConfig, githubSection } from "./github";
import { GpuConfig, gpuSection } from "./gpu";
import { ImagesConfig, imagesSection } from "./images";
import { KubernetesConfig, kubernetesSection } from "./kubernetes";
import { PolicyConfig, policySection } from "./policy";
import { ConfigError, PROJECT, Problem } from "./problems";
import { RegistryConfig, registrySection } from "./registry";
import { Section, SectionContext } from "./section";
import { SessionTestConfig, sessionTestSection } from "./sessionTest";
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

// Order matters only for the order of messages and of the README's reference.
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
}

function shellQuote(value: string): string {
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let previous = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const current = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
            previous = current;
        }
    }
    return row[b.length];
}

function closest(key: string, candidates: string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = editDistance(key.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

/**
 * Parses the raw config of one stack (keys with or without the `streamspace-images:` prefix,
 * values as Pulumi hands them: strings, with JSON text for numbers, booleans and lists).
 * Throws ConfigError listing every problem; returns the typed configuration otherwise.
 */
export function parseStackConfig(raw: Readonly<Record<string, string>>, opts: ParseOptions): StackConfig {
    const env = opts.env ?? {};
    const problems: Problem[] = [];
    const values: Record<string, string> = {};
    for (const [fullKey, value] of Object.entries(raw)) {
        const [namespace, key] = fullKey.includes(":") ? fullKey.split(/:(.*)/s, 2) : [PROJECT, fullKey];
        if (namespace === PROJECT) values[key] = value;
    }
    const keys = declaredKeys();
    const known = new Map(keys.map((k) => [k.key, k]));
    const setCommand = (key: string, value?: string) => {
        const k = known.get(key);
        const example = value ?? k?.example ?? "<value>";
        const secret = k?.secret && !example.includes("--secret") ? " --secret" : "";
        const quoted = example.startsWith("[") ? `--path '${key}[0]' ${shellQuote(example.slice(1, -1).split(",")[0])}` : `${key} ${example.includes("\"") || example.includes("<") ? example : shellQuote(example)}`;
        return `pulumi config set ${quoted}${secret} --stack ${opts.stack}`;
    };
    const shown = (key: string, value: unknown): string | undefined => {
        if (value === undefined) return undefined;
        if (known.get(key)?.secret) return "(secret)";
        return typeof value === "string" ? value : JSON.stringify(value);
    };

    for (const key of Object.keys(values)) {
        if (!known.has(key)) {
            const guess = closest(key, [...known.keys()]);
            // A misspelt secret key holds a secret: show neither its value nor put it in the fix.
            const secret = guess !== undefined && known.get(guess)?.secret === true;
            problems.push({
                key,
                value: secret ? "(secret)" : shown(key, values[key]),
                message: `unknown key${guess ? `; did you mean '${guess}'?` : ""} The keys are declared in Pulumi.yaml`,
                fix: guess
                    ? `pulumi config rm ${key} --stack ${opts.stack} && ${setCommand(guess, secret ? undefined : shown(key, values[key]))}`
                    : `pulumi config rm ${key} --stack ${opts.stack}`,
            });
        }
    }

    const ctx: SectionContext = {
        stack: opts.stack,
        env,
        imageNames: opts.imageNames,
        isSet: (key) => key in values,
        problem: ({ key, value, message, fix }) =>
            problems.push({ key, value: shown(key, value), message, fix: fix ?? setCommand(key) }),
        setCommand,
    };

    const built: Record<string, unknown> = {};
    for (const [name, section] of Object.entries(SECTIONS) as [string, AnySection][]) {
        const input: Record<string, string> = {};
        for (const key of Object.keys(section.keys)) if (key in values) input[key] = values[key];
        const result = z.object(section.keys).safeParse(input);
        if (!result.success) {
            for (const issue of result.error.issues) {
                const key = String(issue.path[0]);
                problems.push({ key, value: shown(key, values[key]), message: issue.message, fix: setCommand(key) });
            }
            continue;
        }
        built[name] = section.build(result.data, ctx);
    }
    if (problems.length === 0) checkAcrossSections(built as unknown as StackConfig, ctx);
    if (problems.length > 0) throw new ConfigError(opts.stack, problems);
    return { stack: opts.stack, ...(built as Omit<StackConfig, "stack">) };
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
            message: `imagePush is on and ${c.registry.server} needs credentials, but neither registryToken nor the GHCR_TOKEN environment variable is set`,
            fix: `${ctx.setCommand("registryToken")}  (or export GHCR_TOKEN, or: pulumi config set imagePush false --stack ${ctx.stack})`,
        });
    }
}

/** Reads the running stack's configuration from the Pulumi engine and parses it. */
export function loadStackConfig(imageNames: readonly string[]): StackConfig {
    return parseStackConfig(pulumi.runtime.allConfig(), {
        stack: pulumi.getStack(),
        env: process.env,
        imageNames,
    });
}
