import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { ActionsSecretName, ActionsVariableName, PULL_REQUEST_WORKFLOW } from "../components/githubSettings";
import { boolean, stringList, text } from "./fields";
import { defineSection } from "./section";

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
    /** Values of the Actions secrets, as Pulumi secrets; unset ones are not created. */
    secrets: Partial<Record<ActionsSecretName, pulumi.Output<string>>>;
    /** Values of the Actions variables; unset ones are not created. */
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

export const githubSection = defineSection({
    keys: {
        githubEnabled: boolean().default(false),
        githubRepository: text().optional(),
        githubEnvironments: stringList(text()).default(["staging", PROD_ENVIRONMENT]),
        githubProdReviewers: stringList(text()).default([]),
        githubRequiredChecks: stringList(text()).default(["test", "images", "preview"]),
        githubDeployStack: text().default("staging"),
        githubPulumiAccessToken: text().optional(),
        githubPulumiConfigPassphrase: text().optional(),
        githubPulumiBackendUrl: text().optional(),
        githubAwsRoleArn: text().optional(),
        githubAwsRegion: text().optional(),
        githubGcpWorkloadIdentityProvider: text().optional(),
        githubGcpServiceAccount: text().optional(),
    },
    examples: {
        githubEnabled: "true",
        githubRepository: "streamspace-dev/streamspace-images",
        githubEnvironments: "[staging,prod]",
        githubProdReviewers: "[octocat,streamspace-dev/releasers]",
        githubRequiredChecks: "[test,images,preview]",
        githubDeployStack: "staging",
        githubPulumiAccessToken: "<Pulumi access token>",
        githubPulumiConfigPassphrase: "<passphrase>",
        githubPulumiBackendUrl: "s3://streamspace-pulumi-state",
        githubAwsRoleArn: "arn:aws:iam::123456789012:role/streamspace-images-ci",
        githubAwsRegion: "us-east-1",
        githubGcpWorkloadIdentityProvider: "projects/123456789/locations/global/workloadIdentityPools/github/providers/streamspace-images",
        githubGcpServiceAccount: "streamspace-ci@my-project.iam.gserviceaccount.com",
    },
    secretKeys: ["githubPulumiAccessToken", "githubPulumiConfigPassphrase"],
    build(v, ctx): GithubConfig {
        const set = (value: string | undefined) => (value === undefined || value === "" ? undefined : value);
        const repository = set(v.githubRepository);
        const [, owner = "", name = ""] = (repository && repositoryPattern.exec(repository)) || [];
        const reviewers: GithubReviewers = { users: [], teams: [] };
        for (const entry of v.githubProdReviewers) {
            const team = teamPattern.exec(entry);
            const user = userPattern.exec(entry);
            if (team) reviewers.teams.push(team[2]);
            else if (user) reviewers.users.push(user[1]);
        }
        const secrets: GithubConfig["secrets"] = {};
        const accessToken = set(v.githubPulumiAccessToken);
        const passphrase = v.githubPulumiConfigPassphrase;
        if (accessToken) secrets.PULUMI_ACCESS_TOKEN = pulumi.secret(accessToken);
        // An empty passphrase is a real passphrase (the dev stack's); only an unset key is left out.
        if (passphrase !== undefined) secrets.PULUMI_CONFIG_PASSPHRASE = pulumi.secret(passphrase);
        const variables: GithubConfig["variables"] = { DEPLOY_STACK: v.githubDeployStack };
        const optionalVariables: [ActionsVariableName, string | undefined][] = [
            ["PULUMI_BACKEND_URL", set(v.githubPulumiBackendUrl)],
            ["AWS_ROLE_ARN", set(v.githubAwsRoleArn)],
            ["AWS_REGION", set(v.githubAwsRegion)],
            ["GCP_WORKLOAD_IDENTITY_PROVIDER", set(v.githubGcpWorkloadIdentityProvider)],
            ["GCP_SERVICE_ACCOUNT", set(v.githubGcpServiceAccount)],
        ];
        for (const [key, value] of optionalVariables) if (value !== undefined) variables[key] = value;

        const config: GithubConfig = {
            enabled: v.githubEnabled,
            owner,
            name,
            environments: v.githubEnvironments,
            prodReviewers: reviewers,
            requiredChecks: v.githubRequiredChecks,
            deployStack: v.githubDeployStack,
            secrets,
            variables,
        };
        // The keys below only matter to the stack that manages the repository.
        if (!v.githubEnabled) return config;

        if (!repository) {
            ctx.problem({ key: "githubRepository", message: "githubEnabled is on: name the repository to manage as owner/name" });
        } else if (!owner) {
            ctx.problem({
                key: "githubRepository",
                value: repository,
                message: "expected owner/name, e.g. streamspace-dev/streamspace-images (owner: letters, digits and single hyphens; name: letters, digits, '.', '_', '-')",
            });
        }

        const stacks = repositoryStacks();
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
                message: `stack '${ctx.stack}' is one of githubEnvironments: a stack must not manage the credentials its own updates run with. Manage the repository from a separate stack (see the README, "One-time bootstrap")`,
                fix: `pulumi config set githubEnabled false --stack ${ctx.stack}  (and: pulumi stack init bootstrap)`,
            });
        }

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

        if (!accessToken && !set(v.githubPulumiBackendUrl)) {
            ctx.problem({
                key: "githubPulumiAccessToken",
                message: "the workflows need a state backend to log in to: a Pulumi Cloud access token, or githubPulumiBackendUrl for a self-managed backend",
                fix: `${ctx.setCommand("githubPulumiAccessToken")}  (or: ${ctx.setCommand("githubPulumiBackendUrl")})`,
            });
        }
        const checkFormat = (key: keyof typeof v, pattern: RegExp, what: string) => {
            const value = set(v[key] as string | undefined);
            if (value !== undefined && !pattern.test(value)) ctx.problem({ key, value, message: `expected ${what}` });
        };
        checkFormat("githubAwsRoleArn", awsRolePattern, "an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>");
        checkFormat("githubAwsRegion", awsRegionPattern, "an AWS region such as us-east-1");
        checkFormat(
            "githubGcpWorkloadIdentityProvider",
            gcpProviderPattern,
            "projects/<project number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>",
        );
        checkFormat("githubGcpServiceAccount", gcpServiceAccountPattern, "a service account e-mail, <name>@<project>.iam.gserviceaccount.com");
        const pairs: [keyof typeof v, keyof typeof v][] = [
            ["githubAwsRoleArn", "githubAwsRegion"],
            ["githubGcpWorkloadIdentityProvider", "githubGcpServiceAccount"],
        ];
        for (const [a, b] of pairs) {
            const hasA = set(v[a] as string | undefined) !== undefined;
            const hasB = set(v[b] as string | undefined) !== undefined;
            if (hasA !== hasB) {
                const missingKey = hasA ? b : a;
                ctx.problem({ key: missingKey, message: `${hasA ? a : b} is set: the workflows need ${missingKey} with it` });
            }
        }
        return config;
    },
});
