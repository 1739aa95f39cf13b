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
        } else if (ctx.env.GHCR_TOKEN) {
            tokenSource = "GHCR_TOKEN";
            token = pulumi.secret(ctx.env.GHCR_TOKEN);
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
