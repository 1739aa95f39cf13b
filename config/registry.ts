import * as pulumi from "@pulumi/pulumi";
import { text } from "./fields";
import { defineSection } from "./section";

export interface RegistryConfig {
    /** Registry host, e.g. ghcr.io or localhost:5001. */
    server: string;
    /** Namespace under the server: a GitHub user or organisation for GHCR. */
    owner: string;
    username: string;
    /** Password or token, always a Pulumi secret; undefined when none is needed (local registry). */
    token?: pulumi.Output<string>;
    /** Where the token came from, for logs and docs; never the token itself. */
    tokenSource: "config" | "GHCR_TOKEN" | "none";
    /** True for registries on this machine (a kind registry), which need no credentials. */
    local: boolean;
}

// GitHub account names: letters, digits and single hyphens, not at either end, at most 39.
const githubAccount = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}$/;
// A path component of a repository name in the OCI distribution spec.
const repositoryComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const registryHost = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?$/;

export function isLocalRegistry(server: string): boolean {
    return /^(localhost|127\.0\.0\.1|kind-registry)(:[0-9]+)?$/.test(server);
}

/**
 * Why a secret this program stores would be readable by anyone who reads the stack's state, or
 * undefined: a local file backend (PULUMI_BACKEND_URL=file://...) whose passphrase secrets provider
 * was given the empty passphrase (PULUMI_CONFIG_PASSPHRASE="" and no PULUMI_CONFIG_PASSPHRASE_FILE),
 * as the dev stack's deploy command sets up when nobody is logged in to Pulumi.
 */
export function secretsReadableInState(env: Readonly<Record<string, string | undefined>>): string | undefined {
    const backend = env.PULUMI_BACKEND_URL;
    if (!backend?.startsWith("file://")) return undefined;
    if (env.PULUMI_CONFIG_PASSPHRASE !== "" || env.PULUMI_CONFIG_PASSPHRASE_FILE) return undefined;
    return `the stack's state is a local file backend (PULUMI_BACKEND_URL=${backend}) and its secrets are encrypted with the empty passphrase (PULUMI_CONFIG_PASSPHRASE is empty)`;
}

export const registrySection = defineSection({
    keys: {
        registryServer: text().default("ghcr.io"),
        registryOwner: text().default("streamspace-dev"),
        registryUsername: text().optional(),
        registryToken: text().optional(),
    },
    examples: {
        registryServer: "ghcr.io",
        registryOwner: "streamspace-dev",
        registryUsername: "streamspace-bot",
        registryToken: "<token with write:packages>",
    },
    secretKeys: ["registryToken"],
    // Keys without a default are not declared in Pulumi.yaml (Pulumi requires every declared key
    // without a default on every stack); their descriptions live here.
    descriptions: {
        registryUsername: "User name for the registry login; defaults to registryOwner.",
        registryToken: "Registry password or token (GHCR - a token with write:packages). With registryServer ghcr.io, falls back to the GHCR_TOKEN environment variable, which is sent to no other registry. Not needed for local registries. Refused on a local file backend with an empty passphrase.",
    },
    build(v, ctx): RegistryConfig {
        if (!registryHost.test(v.registryServer)) {
            ctx.problem({
                key: "registryServer",
                value: v.registryServer,
                message: "expected a registry host name with an optional port, without scheme or path (e.g. ghcr.io, localhost:5001)",
            });
        }
        const ghcr = v.registryServer === "ghcr.io";
        const owner = v.registryOwner;
        const rule = ghcr ? githubAccount : repositoryComponent;
        if (!rule.test(owner)) {
            const lower = owner.toLowerCase();
            const uppercase = owner !== lower;
            ctx.problem({
                key: "registryOwner",
                value: owner,
                message: uppercase
                    ? `registry paths are lowercase: ${v.registryServer} refuses '${owner}'. GitHub names are case-insensitive, so '${lower}' is the same account`
                    : ghcr
                      ? "a GHCR owner is a GitHub user or organisation: lowercase letters, digits and single hyphens, not at the start or end, at most 39 characters"
                      : "expected lowercase letters and digits, separated by '.', '_' or '-'",
                fix: ctx.setCommand("registryOwner", rule.test(lower) ? lower : "streamspace-dev"),
            });
        }
        const local = isLocalRegistry(v.registryServer);
        let tokenSource: RegistryConfig["tokenSource"] = "none";
        let token: pulumi.Output<string> | undefined;
        if (v.registryToken !== undefined && v.registryToken !== "") {
            tokenSource = "config";
            token = pulumi.secret(v.registryToken);
        } else if (ghcr && ctx.env.GHCR_TOKEN) {
            // A GitHub token is sent to GitHub's registry only, never to another (a local one included).
            tokenSource = "GHCR_TOKEN";
            token = pulumi.secret(ctx.env.GHCR_TOKEN);
        }
        const readable = token ? secretsReadableInState(ctx.env) : undefined;
        if (readable) {
            const from = tokenSource === "config" ? "registryToken" : "the GHCR_TOKEN environment variable";
            ctx.problem({
                key: "registryToken",
                value: tokenSource === "config" ? v.registryToken : undefined,
                message:
                    `the registry token (from ${from}) would be stored in the stack's state, but ${readable}: ` +
                    "anyone who reads the state or the stack file could decrypt it",
                fix:
                    `set a passphrase for every update of this stack: export PULUMI_CONFIG_PASSPHRASE='<passphrase>' (or PULUMI_CONFIG_PASSPHRASE_FILE=<file>). ` +
                    `A stack that exists already moves from the empty passphrase to a new one with: pulumi stack change-secrets-provider passphrase --stack ${ctx.stack} ` +
                    "(run while PULUMI_CONFIG_PASSPHRASE is still empty; it asks for the new one). " +
                    (tokenSource === "config" ? `Or leave the token out: pulumi config rm registryToken --stack ${ctx.stack}` : "Or leave the token out: unset GHCR_TOKEN"),
            });
        }
        return {
            server: v.registryServer,
            owner,
            username: v.registryUsername ?? owner,
            token,
            tokenSource,
            local,
        };
    },
});
