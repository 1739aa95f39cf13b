import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import {
    ActionsVariableName,
    EnvironmentSecretName,
    EnvironmentVariableName,
    PREVIEW_ENVIRONMENT,
    PULL_REQUEST_WORKFLOW,
} from "../tables/githubSettings";
import { boolean, stringList, stringMap, text } from "./fields";
import { shellQuote } from "./problems";
import { SectionContext, defineSection } from "./section";
import { z } from "zod";

const ROOT = path.resolve(__dirname, "..");

/** The protected environment: updates to it wait for the reviewers in githubProdReviewers. */
export const PROD_ENVIRONMENT = "prod";

export interface GithubReviewers {
    /** User logins. */
    users: string[];
    /** Team slugs within the repository's organisation. */
    teams: string[];
}

export interface GithubConfig {
    /** Manage the repository's environments, Actions secrets/variables and branch protection. */
    enabled: boolean;
    /** Repository owner (user or organisation) and name. */
    owner: string;
    name: string;
    /** One GitHub Environment per stack named here. */
    environments: string[];
    prodReviewers: GithubReviewers;
    /** Status checks (pull-request job names) branch protection on main requires. */
    requiredChecks: string[];
    /** Stack that pushes to main update. */
    deployStack: string;
    /** Secrets of each Environment (the stacks' and preview), as Pulumi secrets; unset ones are not created. */
    environmentSecrets: Record<string, Partial<Record<EnvironmentSecretName, pulumi.Output<string>>>>;
    /** Variables of each Environment: its cloud identity; unset ones are not created. */
    environmentVariables: Record<string, Partial<Record<EnvironmentVariableName, string>>>;
    /** Values of the repository's Actions variables; unset ones are not created. */
    variables: Partial<Record<ActionsVariableName, string>>;
}

// GitHub account names: letters, digits and single hyphens, not at either end, at most 39.
const account = "[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}";
const repositoryPattern = new RegExp(`^(${account})/([A-Za-z0-9._-]{1,100})$`);
const userPattern = new RegExp(`^@?(${account})$`);
const teamPattern = new RegExp(`^@?(${account})/([A-Za-z0-9_-]+)$`);
const awsRolePattern = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]+$/;
const awsRegionPattern = /^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/;
const gcpProviderPattern = /^projects\/[0-9]+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]+\/providers\/[a-z0-9-]+$/;
const gcpServiceAccountPattern = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\.iam\.gserviceaccount\.com$/;

/** Every stack of the repository: one per Pulumi.<stack>.yaml. */
export function repositoryStacks(root: string = ROOT): string[] {
    return fs
        .readdirSync(root)
        .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** The check names the pull-request workflow reports: each job's name, or its id when it has none. */
export function pullRequestChecks(root: string = ROOT): string[] | undefined {
    const file = path.join(root, PULL_REQUEST_WORKFLOW);
    if (!fs.existsSync(file)) return undefined;
    const doc = parse(fs.readFileSync(file, "utf8")) as { jobs?: Record<string, { name?: string }> };
    return Object.entries(doc.jobs ?? {}).map(([id, job]) => job.name ?? id);
}

const list = (values: readonly string[]) => `[${values.join(",")}]`;

/** A config value, or undefined when it is unset or empty. */
const setValue = (value: string | undefined) => (value === undefined || value === "" ? undefined : value);

export const githubSection = defineSection({
    keys: {
        githubEnabled: boolean().default(false),
        githubRepository: text().optional(),
        githubEnvironments: stringList(text()).default(["staging", PROD_ENVIRONMENT]),
        githubProdReviewers: stringList(text()).default([]),
        githubRequiredChecks: stringList(text()).default(["test", "images", "preview"]),
        githubDeployStack: text().default("staging"),
        githubPulumiAccessTokens: stringMap(text()).default({}),
        githubPulumiConfigPassphrases: stringMap(text()).default({}),
        githubPulumiBackendUrl: text().optional(),
        githubAwsRoleArns: stringMap(text()).default({}),
        githubAwsRegion: text().optional(),
        githubGcpWorkloadIdentityProviders: stringMap(text()).default({}),
        githubGcpServiceAccounts: stringMap(text()).default({}),
    },
    examples: {
        githubEnabled: "true",
        githubRepository: "streamspace-dev/streamspace-images",
        githubEnvironments: "[staging,prod]",
        githubProdReviewers: "[octocat,streamspace-dev/releasers]",
        githubRequiredChecks: "[test,images,preview]",
        githubDeployStack: "staging",
        githubPulumiAccessTokens: "{prod: <Pulumi access token of prod>, staging: <...of staging>, preview: <read-only token>}",
        githubPulumiConfigPassphrases: "{prod: <passphrase of prod>, staging: <...of staging>, preview: <...of staging>}",
        githubPulumiBackendUrl: "s3://streamspace-pulumi-state",
        githubAwsRoleArns: "{prod: arn:aws:iam::123456789012:role/streamspace-images-prod, staging: ..., preview: ...}",
        githubAwsRegion: "us-east-1",
        githubGcpWorkloadIdentityProviders: "{prod: projects/123456789/locations/global/workloadIdentityPools/github/providers/streamspace-images-prod}",
        githubGcpServiceAccounts: "{prod: streamspace-prod@my-project.iam.gserviceaccount.com, staging: ..., preview: ...}",
    },
    secretKeys: ["githubPulumiAccessTokens", "githubPulumiConfigPassphrases"],
    // Keys without a default are not declared in Pulumi.yaml (Pulumi requires every declared key
    // without a default on every stack); their descriptions live here.
    descriptions: {
        githubRepository: "The repository to manage, as owner/name (e.g. streamspace-dev/streamspace-images). Required with githubEnabled. The provider's token comes from the GITHUB_TOKEN environment variable.",
        githubPulumiBackendUrl: "Self-managed state backend for the workflows (Actions variable PULUMI_BACKEND_URL), e.g. s3://bucket; unset uses Pulumi Cloud.",
        githubAwsRegion: "AWS region of the workflows' sessions (Actions variable AWS_REGION).",
    },
    build(v, ctx): GithubConfig {
        const repository = setValue(v.githubRepository);
        const [, owner = "", name = ""] = (repository && repositoryPattern.exec(repository)) || [];
        const reviewers = prodReviewers(v.githubProdReviewers);
        // Every Environment the component creates: one per stack, and the previews'.
        const allEnvironments = [...v.githubEnvironments, PREVIEW_ENVIRONMENT];
        const environmentSecrets: GithubConfig["environmentSecrets"] = {};
        const environmentVariables: GithubConfig["environmentVariables"] = {};
        for (const env of allEnvironments) {
            environmentSecrets[env] = environmentSecretsOf(v, env);
            environmentVariables[env] = environmentVariablesOf(v, env);
        }
        const variables = actionsVariables(v);

        const config: GithubConfig = {
            enabled: v.githubEnabled,
            owner,
            name,
            environments: v.githubEnvironments,
            prodReviewers: reviewers,
            requiredChecks: v.githubRequiredChecks,
            deployStack: v.githubDeployStack,
            environmentSecrets,
            environmentVariables,
            variables,
        };
        // The keys below only matter to the stack that manages the repository.
        if (!v.githubEnabled) return config;

        checkRepository(ctx, repository, owner);
        const stacks = repositoryStacks();
        checkEnvironmentStacks(v, ctx, stacks);
        checkProdReviewers(v, ctx, owner);
        checkDeployStack(v, ctx, stacks);
        checkRequiredChecks(v, ctx);
        checkEnvironmentCredentials(v, ctx, allEnvironments);
        return config;
    },
});

type GithubValues = z.infer<z.ZodObject<(typeof githubSection)["keys"]>>;

/** The prod reviewers, sorted into users and teams; malformed entries are left out. */
function prodReviewers(entries: string[]): GithubReviewers {
    const reviewers: GithubReviewers = { users: [], teams: [] };
    for (const entry of entries) {
        const team = teamPattern.exec(entry);
        const user = userPattern.exec(entry);
        if (team) reviewers.teams.push(team[2]);
        else if (user) reviewers.users.push(user[1]);
    }
    return reviewers;
}

/** The secrets of one Environment: its Pulumi access token and passphrase, where set. */
function environmentSecretsOf(v: GithubValues, env: string): GithubConfig["environmentSecrets"][string] {
    const secrets: GithubConfig["environmentSecrets"][string] = {};
    const token = setValue(v.githubPulumiAccessTokens[env]);
    const passphrase = v.githubPulumiConfigPassphrases[env];
    if (token) secrets.PULUMI_ACCESS_TOKEN = pulumi.secret(token);
    // An empty passphrase is a real passphrase (the dev stack's); only an unset entry is left out.
    if (passphrase !== undefined) secrets.PULUMI_CONFIG_PASSPHRASE = pulumi.secret(passphrase);
    return secrets;
}

/** The variables of one Environment: its cloud identity, where set. */
function environmentVariablesOf(v: GithubValues, env: string): GithubConfig["environmentVariables"][string] {
    const variables: GithubConfig["environmentVariables"][string] = {};
    const identity: [EnvironmentVariableName, string | undefined][] = [
        ["AWS_ROLE_ARN", setValue(v.githubAwsRoleArns[env])],
        ["GCP_WORKLOAD_IDENTITY_PROVIDER", setValue(v.githubGcpWorkloadIdentityProviders[env])],
        ["GCP_SERVICE_ACCOUNT", setValue(v.githubGcpServiceAccounts[env])],
    ];
    for (const [key, value] of identity) if (value !== undefined) variables[key] = value;
    return variables;
}

/** The repository's Actions variables: the deploy stack, and the backend and region where set. */
function actionsVariables(v: GithubValues): GithubConfig["variables"] {
    const variables: GithubConfig["variables"] = { DEPLOY_STACK: v.githubDeployStack };
    const optionalVariables: [ActionsVariableName, string | undefined][] = [
        ["PULUMI_BACKEND_URL", setValue(v.githubPulumiBackendUrl)],
        ["AWS_REGION", setValue(v.githubAwsRegion)],
    ];
    for (const [key, value] of optionalVariables) if (value !== undefined) variables[key] = value;
    return variables;
}

/** The repository is named, as owner/name. */
function checkRepository(ctx: SectionContext, repository: string | undefined, owner: string): void {
    if (!repository) {
        ctx.problem({ key: "githubRepository", message: "githubEnabled is on: name the repository to manage as owner/name" });
    } else if (!owner) {
        ctx.problem({
            key: "githubRepository",
            value: repository,
            message: "expected owner/name, e.g. streamspace-dev/streamspace-images (owner: letters, digits and single hyphens; name: letters, digits, '.', '_', '-')",
        });
    }
}

/** Every environment is named after a stack of the repository, and not after the managing stack itself. */
function checkEnvironmentStacks(v: GithubValues, ctx: SectionContext, stacks: string[]): void {
    const unknown = v.githubEnvironments.filter((s) => !stacks.includes(s));
    if (unknown.length > 0) {
        const known = v.githubEnvironments.filter((s) => stacks.includes(s));
        ctx.problem({
            key: "githubEnvironments",
            value: v.githubEnvironments,
            message: `${unknown.map((s) => `'${s}'`).join(", ")} ${unknown.length === 1 ? "is not a stack" : "are not stacks"} of this repository; environments are named after stacks, and the stacks are: ${stacks.join(", ")} (one per Pulumi.<stack>.yaml)`,
            fix: `pulumi config set githubEnvironments '${list(known.length > 0 ? known : ["staging", PROD_ENVIRONMENT])}' --stack ${ctx.stack}`,
        });
    }
    if (v.githubEnvironments.includes(ctx.stack)) {
        ctx.problem({
            key: "githubEnabled",
            value: v.githubEnabled,
            message: `stack '${ctx.stack}' is one of githubEnvironments: a stack must not manage the credentials its own updates run with. Manage the repository from a separate stack (see docs/ci-and-releases.md, "One-time bootstrap")`,
            fix: `pulumi config set githubEnabled false --stack ${ctx.stack}  (and: pulumi stack init bootstrap)`,
        });
    }
}

/** The prod reviewers are users or teams of the repository's organisation, and prod has at least one. */
function checkProdReviewers(v: GithubValues, ctx: SectionContext, owner: string): void {
    const malformed = v.githubProdReviewers.filter((r) => !teamPattern.test(r) && !userPattern.test(r));
    if (malformed.length > 0) {
        ctx.problem({
            key: "githubProdReviewers",
            value: v.githubProdReviewers,
            message: `${malformed.map((r) => `'${r}'`).join(", ")}: expected a user login (octocat) or a team as org/team-slug`,
        });
    }
    const teamsElsewhere = v.githubProdReviewers.filter((r) => {
        const team = teamPattern.exec(r);
        return team !== null && owner !== "" && team[1].toLowerCase() !== owner.toLowerCase();
    });
    if (teamsElsewhere.length > 0) {
        ctx.problem({
            key: "githubProdReviewers",
            value: v.githubProdReviewers,
            message: `${teamsElsewhere.map((r) => `'${r}'`).join(", ")}: only teams of the repository's organisation '${owner}' can review its deployments`,
        });
    }
    if (v.githubEnvironments.includes(PROD_ENVIRONMENT) && v.githubProdReviewers.length === 0) {
        ctx.problem({
            key: "githubProdReviewers",
            value: v.githubProdReviewers,
            message: `the '${PROD_ENVIRONMENT}' environment needs at least one required reviewer, so that no release reaches production unapproved`,
        });
    }
}

/** The stack pushes to main deploy is one of the environments, and not prod. */
function checkDeployStack(v: GithubValues, ctx: SectionContext, stacks: string[]): void {
    if (v.githubDeployStack === PROD_ENVIRONMENT) {
        ctx.problem({
            key: "githubDeployStack",
            value: v.githubDeployStack,
            message: `'${PROD_ENVIRONMENT}' is updated by release tags after review; pushes to main must deploy another stack`,
            fix: ctx.setCommand("githubDeployStack", "staging"),
        });
    } else if (!v.githubEnvironments.includes(v.githubDeployStack)) {
        ctx.problem({
            key: "githubDeployStack",
            value: v.githubDeployStack,
            message: `pushes to main update this stack inside its GitHub Environment, so it must be one of githubEnvironments (${v.githubEnvironments.join(", ") || "none"})`,
            fix: ctx.setCommand("githubDeployStack", v.githubEnvironments.find((s) => s !== PROD_ENVIRONMENT && stacks.includes(s)) ?? "staging"),
        });
    }
}

/** Main requires some checks, and only ones the pull-request workflow reports. */
function checkRequiredChecks(v: GithubValues, ctx: SectionContext): void {
    const checks = pullRequestChecks();
    if (v.githubRequiredChecks.length === 0) {
        ctx.problem({
            key: "githubRequiredChecks",
            value: v.githubRequiredChecks,
            message: "require at least the test and preview checks, or main accepts untested changes",
        });
    } else if (checks) {
        const missing = v.githubRequiredChecks.filter((c) => !checks.includes(c));
        if (missing.length > 0) {
            ctx.problem({
                key: "githubRequiredChecks",
                value: v.githubRequiredChecks,
                message: `${missing.map((c) => `'${c}'`).join(", ")} ${missing.length === 1 ? "is" : "are"} not reported by ${PULL_REQUEST_WORKFLOW}, so every pull request would wait for ${missing.length === 1 ? "it" : "them"} forever; its checks are: ${checks.join(", ")}`,
                fix: `pulumi config set githubRequiredChecks '${list(v.githubRequiredChecks.filter((c) => checks.includes(c)))}' --stack ${ctx.stack}`,
            });
        }
    }
}

const PER_ENVIRONMENT_KEYS = [
    "githubPulumiAccessTokens",
    "githubPulumiConfigPassphrases",
    "githubAwsRoleArns",
    "githubGcpWorkloadIdentityProviders",
    "githubGcpServiceAccounts",
] as const;

type PerEnvironmentKey = (typeof PER_ENVIRONMENT_KEYS)[number];

/** `pulumi config set --path '<key>.<env>' <value>` for this stack, as a secret if asked. */
function setPathCommand(ctx: SectionContext, key: string, env: string, value: string, secret = false): string {
    return `pulumi config set --path '${key}.${env}' ${shellQuote(value)}${secret ? " --secret" : ""} --stack ${ctx.stack}`;
}

/**
 * The credentials of each Environment: every entry names an Environment the component creates;
 * each one can log in to its state; prod shares no token, role or service account with another
 * Environment, and the previews' Environment never holds prod's passphrase.
 */
function checkEnvironmentCredentials(v: GithubValues, ctx: SectionContext, environments: string[]): void {
    checkEnvironmentNames(v, ctx, environments);
    checkPulumiLogin(v, ctx, environments);
    checkProdIsolation(v, ctx, environments);
    checkIdentityFormats(v, ctx);
    checkGcpPairs(v, ctx, environments);
}

/** No stack is named after the previews' Environment, and every per-Environment entry names an Environment. */
function checkEnvironmentNames(v: GithubValues, ctx: SectionContext, environments: string[]): void {
    if (v.githubEnvironments.includes(PREVIEW_ENVIRONMENT)) {
        ctx.problem({
            key: "githubEnvironments",
            value: v.githubEnvironments,
            message: `'${PREVIEW_ENVIRONMENT}' is the Environment of pull-request previews, which the component creates itself with read-only credentials; a stack of that name cannot have its own`,
        });
    }
    for (const key of PER_ENVIRONMENT_KEYS) {
        const unknown = Object.keys(v[key]).filter((env) => !environments.includes(env));
        if (unknown.length > 0) {
            ctx.problem({
                key,
                message: `${unknown.map((e) => `'${e}'`).join(", ")} ${unknown.length === 1 ? "is" : "are"} not an Environment of this repository; the entries must be named after one of: ${environments.join(", ")}`,
                fix: unknown.map((e) => `pulumi config rm --path '${key}.${e}' --stack ${ctx.stack}`).join("  and  "),
            });
        }
    }
}

/** Without a self-managed backend, every Environment has a Pulumi access token. */
function checkPulumiLogin(v: GithubValues, ctx: SectionContext, environments: string[]): void {
    if (setValue(v.githubPulumiBackendUrl)) return;
    const missing = environments.filter((env) => !setValue(v.githubPulumiAccessTokens[env]));
    if (missing.length > 0) {
        ctx.problem({
            key: "githubPulumiAccessTokens",
            message: `no Pulumi access token for ${missing.map((e) => `'${e}'`).join(", ")}: each Environment logs in with a token of its own (for '${PREVIEW_ENVIRONMENT}', one of a team that may only read the previewed stacks), or githubPulumiBackendUrl names a self-managed backend`,
            fix: `${setPathCommand(ctx, "githubPulumiAccessTokens", missing[0], "<token>", true)}  (or: ${ctx.setCommand("githubPulumiBackendUrl")})`,
        });
    }
}

/** Prod shares no token, role or service account with another Environment, nor its passphrase with the previews'. */
function checkProdIsolation(v: GithubValues, ctx: SectionContext, environments: string[]): void {
    checkSharedWithProd(v, ctx, environments, "githubPulumiAccessTokens", "Pulumi access token");
    checkSharedWithProd(v, ctx, environments, "githubAwsRoleArns", "AWS role");
    checkSharedWithProd(v, ctx, environments, "githubGcpServiceAccounts", "GCP service account");
    const prodPassphrase = setValue(v.githubPulumiConfigPassphrases[PROD_ENVIRONMENT]);
    if (prodPassphrase !== undefined && v.githubPulumiConfigPassphrases[PREVIEW_ENVIRONMENT] === prodPassphrase) {
        ctx.problem({
            key: "githubPulumiConfigPassphrases",
            message: `'${PREVIEW_ENVIRONMENT}' holds prod's passphrase, which decrypts every prod secret, in an Environment every pull request reaches; it needs the previewed stacks' only`,
            fix: `pulumi config rm --path 'githubPulumiConfigPassphrases.${PREVIEW_ENVIRONMENT}' --stack ${ctx.stack}`,
        });
    }
}

/** No other Environment has prod's value of `key` (described as `what`). */
function checkSharedWithProd(v: GithubValues, ctx: SectionContext, environments: string[], key: PerEnvironmentKey, what: string): void {
    const prod = setValue(v[key][PROD_ENVIRONMENT]);
    if (prod === undefined) return;
    const sharing = environments.filter((env) => env !== PROD_ENVIRONMENT && v[key][env] === prod);
    if (sharing.length > 0) {
        ctx.problem({
            key,
            message: `'${PROD_ENVIRONMENT}' shares its ${what} with ${sharing.map((e) => `'${e}'`).join(", ")}: a job there could then update or read prod without prod's reviewers. Give '${PROD_ENVIRONMENT}' one of its own`,
            fix: setPathCommand(ctx, key, sharing[0], "<another value>", key === "githubPulumiAccessTokens" || key === "githubPulumiConfigPassphrases"),
        });
    }
}

/** The cloud identities and the AWS region are well-formed, and AWS roles come with a region. */
function checkIdentityFormats(v: GithubValues, ctx: SectionContext): void {
    const formats: [PerEnvironmentKey, RegExp, string][] = [
        ["githubAwsRoleArns", awsRolePattern, "an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>"],
        ["githubGcpWorkloadIdentityProviders", gcpProviderPattern, "projects/<project number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>"],
        ["githubGcpServiceAccounts", gcpServiceAccountPattern, "a service account e-mail, <name>@<project>.iam.gserviceaccount.com"],
    ];
    for (const [key, pattern, what] of formats) {
        for (const [env, value] of Object.entries(v[key])) {
            if (setValue(value) !== undefined && !pattern.test(value)) ctx.problem({ key, value: `${env}: ${value}`, message: `expected ${what}` });
        }
    }
    const region = setValue(v.githubAwsRegion);
    if (region !== undefined && !awsRegionPattern.test(region)) {
        ctx.problem({ key: "githubAwsRegion", value: region, message: "expected an AWS region such as us-east-1" });
    }
    if (region === undefined && Object.values(v.githubAwsRoleArns).some((r) => setValue(r) !== undefined)) {
        ctx.problem({ key: "githubAwsRegion", message: "githubAwsRoleArns is set: the workflows need the region of their AWS sessions too" });
    }
}

/** Each Environment has both a GCP workload identity provider and a service account, or neither. */
function checkGcpPairs(v: GithubValues, ctx: SectionContext, environments: string[]): void {
    for (const env of environments) {
        const hasProvider = setValue(v.githubGcpWorkloadIdentityProviders[env]) !== undefined;
        const hasAccount = setValue(v.githubGcpServiceAccounts[env]) !== undefined;
        if (hasProvider !== hasAccount) {
            const missing = hasProvider ? "githubGcpServiceAccounts" : "githubGcpWorkloadIdentityProviders";
            ctx.problem({
                key: missing,
                message: `'${env}' has a ${hasProvider ? "workload identity provider" : "service account"} but no ${hasProvider ? "service account" : "workload identity provider"}: GCP login needs both`,
                fix: setPathCommand(ctx, missing, env, hasProvider ? "<service account e-mail>" : "<provider>"),
            });
        }
    }
}
