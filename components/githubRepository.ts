import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { GithubReviewers } from "../config/github";
import {
    ACTIONS_VARIABLES,
    ActionsVariableName,
    ENVIRONMENT_SECRETS,
    ENVIRONMENT_VARIABLES,
    EnvironmentSecretName,
    EnvironmentVariableName,
    GITHUB_ACTIONS_APP_ID,
    MAIN_BRANCH,
    PREVIEW_ENVIRONMENT,
    RELEASE_TAG_PATTERN,
} from "../tables/githubSettings";

export interface GithubRepositoryArgs {
    /** The repository's owner (user or organisation); the GitHub provider acts on it. */
    owner: string;
    /** The repository's name, without owner. */
    name: string;
    /** One GitHub Environment per stack named here; the previews' Environment is added to them. */
    environments: string[];
    /** The environment whose deployments wait for reviewers (prod). */
    protectedEnvironment: string;
    /** Users and teams that approve deployments to the protected environment; they alone push release tags. */
    reviewers: GithubReviewers;
    /** The environment pushes to main deploy to. */
    deployEnvironment: string;
    /** Pull-request checks main requires before a merge. */
    requiredChecks: string[];
    /** Secrets of each Environment, by name (values are Pulumi secrets). */
    environmentSecrets: Record<string, Partial<Record<EnvironmentSecretName, pulumi.Input<string>>>>;
    /** Variables of each Environment (its cloud identity), by name. */
    environmentVariables: Record<string, Partial<Record<EnvironmentVariableName, string>>>;
    /** Repository Actions variables to create, by name. */
    variables: Partial<Record<ActionsVariableName, string>>;
    /** A GitHub provider to use; by default one is made for `owner`, with its token from GITHUB_TOKEN. */
    provider?: github.Provider;
}

/**
 * The repository settings the workflows depend on: an Environment per stack (the protected one
 * with required reviewers and deployable from release tags only, the deploy one from main only)
 * and one for pull-request previews, each holding its own secrets and cloud identity (names in
 * tables/githubSettings.ts); the repository's variables; a ruleset on main (pull requests, reviews, the
 * pull-request checks as reported by GitHub Actions) and one on release tags (only the prod
 * reviewers create, move or delete them).
 */
export class GithubRepository extends pulumi.ComponentResource {
    /** The environments by name. */
    public readonly environments: Record<string, github.RepositoryEnvironment> = {};
    /** Names of the secrets and variables created. */
    public readonly secretNames: string[];
    public readonly variableNames: string[];

    constructor(name: string, args: GithubRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("streamspace:github:GithubRepository", name, {}, opts);
        const provider = args.provider ?? new github.Provider(`${name}-provider`, { owner: args.owner }, { parent: this });
        const child: ChildOptions = { parent: this, provider };
        const reviewerIds = this.reviewerIds(args.reviewers, provider);

        for (const env of [...args.environments, PREVIEW_ENVIRONMENT]) {
            this.environments[env] = createEnvironment(name, env, args, reviewerIds, child);
        }

        this.secretNames = [];
        this.variableNames = [];
        for (const [env, environment] of Object.entries(this.environments)) {
            this.secretNames.push(...createEnvironmentSecrets(name, env, environment, args, child));
            this.variableNames.push(...createEnvironmentVariables(name, env, environment, args, child));
        }
        this.variableNames.push(...createActionsVariables(name, args, child));

        createMainRuleset(name, args, child);
        createReleaseTagRuleset(name, args, reviewerIds, child);

        this.registerOutputs({ secretNames: this.secretNames, variableNames: this.variableNames });
    }

    /** GitHub wants numeric ids of the reviewers; the logins and slugs are looked up. */
    private reviewerIds(reviewers: GithubReviewers, provider: github.Provider): ReviewerIds {
        const invoke = { parent: this, provider };
        return {
            users: reviewers.users.map((username) => github.getUserOutput({ username }, invoke).id.apply(Number)),
            teams: reviewers.teams.map((slug) => github.getTeamOutput({ slug, summaryOnly: true }, invoke).id.apply(Number)),
        };
    }
}

interface ReviewerIds {
    users: pulumi.Output<number>[];
    teams: pulumi.Output<number>[];
}

/** The prod reviewers as the bypass actors of the release-tag ruleset. */
function releaseManagers(ids: ReviewerIds): github.types.input.RepositoryRulesetBypassActor[] {
    const actor = (actorType: string) => (actorId: pulumi.Output<number>) => ({ actorType, actorId, bypassMode: "always" });
    return [...ids.users.map(actor("User")), ...ids.teams.map(actor("Team"))];
}

/** Options of the component's resources: parented to it, on its provider. */
interface ChildOptions {
    parent: pulumi.Resource;
    provider: github.Provider;
}

/**
 * One Environment: the protected one waits for the reviewers and deploys from release tags only,
 * the deploy one from main only; the others deploy from anywhere.
 */
function createEnvironment(
    name: string,
    env: string,
    args: GithubRepositoryArgs,
    reviewerIds: ReviewerIds,
    child: ChildOptions,
): github.RepositoryEnvironment {
    const repository = args.name;
    const isProtected = env === args.protectedEnvironment;
    const isDeploy = env === args.deployEnvironment;
    const restricted = isProtected || isDeploy;
    const environment = new github.RepositoryEnvironment(
        `${name}-${env}`,
        {
            repository,
            environment: env,
            preventSelfReview: isProtected,
            canAdminsBypass: !isProtected,
            reviewers: isProtected ? [reviewerIds] : [],
            deploymentBranchPolicy: restricted ? { protectedBranches: false, customBranchPolicies: true } : undefined,
        },
        child,
    );
    if (restricted) {
        new github.RepositoryEnvironmentDeploymentPolicy(
            `${name}-${env}-${isProtected ? "tags" : "main"}`,
            isProtected
                ? { repository, environment: environment.environment, tagPattern: RELEASE_TAG_PATTERN }
                : { repository, environment: environment.environment, branchPattern: MAIN_BRANCH },
            child,
        );
    }
    return environment;
}

/** The secrets of one Environment that have a value; returns their names as env/NAME. */
function createEnvironmentSecrets(
    name: string,
    env: string,
    environment: github.RepositoryEnvironment,
    args: GithubRepositoryArgs,
    child: ChildOptions,
): string[] {
    const created: string[] = [];
    for (const { name: secretName } of ENVIRONMENT_SECRETS) {
        const value = args.environmentSecrets[env]?.[secretName];
        if (value === undefined) continue;
        new github.ActionsEnvironmentSecret(
            `${name}-${env}-${secretName}`,
            { repository: args.name, environment: environment.environment, secretName, value: pulumi.secret(value) },
            child,
        );
        created.push(`${env}/${secretName}`);
    }
    return created;
}

/** The variables of one Environment that have a value; returns their names as env/NAME. */
function createEnvironmentVariables(
    name: string,
    env: string,
    environment: github.RepositoryEnvironment,
    args: GithubRepositoryArgs,
    child: ChildOptions,
): string[] {
    const created: string[] = [];
    for (const { name: variableName } of ENVIRONMENT_VARIABLES) {
        const value = args.environmentVariables[env]?.[variableName];
        if (value === undefined) continue;
        new github.ActionsEnvironmentVariable(
            `${name}-${env}-${variableName}`,
            { repository: args.name, environment: environment.environment, variableName, value },
            child,
        );
        created.push(`${env}/${variableName}`);
    }
    return created;
}

/** The repository's Actions variables that have a value; returns their names. */
function createActionsVariables(name: string, args: GithubRepositoryArgs, child: ChildOptions): string[] {
    const created: string[] = [];
    for (const { name: variableName } of ACTIONS_VARIABLES) {
        const value = args.variables[variableName];
        if (value === undefined) continue;
        new github.ActionsVariable(`${name}-${variableName}`, { repository: args.name, variableName, value }, child);
        created.push(variableName);
    }
    return created;
}

/** The ruleset on main: pull requests with a review and the required checks, as reported by GitHub Actions. */
function createMainRuleset(name: string, args: GithubRepositoryArgs, child: ChildOptions): github.RepositoryRuleset {
    // No bypass actors: admins too merge through a pull request with green checks.
    return new github.RepositoryRuleset(
        `${name}-${MAIN_BRANCH}`,
        {
            repository: args.name,
            name: MAIN_BRANCH,
            target: "branch",
            enforcement: "active",
            conditions: { refName: { includes: [`refs/heads/${MAIN_BRANCH}`], excludes: [] } },
            rules: {
                deletion: true,
                nonFastForward: true,
                pullRequest: { requiredApprovingReviewCount: 1, dismissStaleReviewsOnPush: true },
                requiredStatusChecks: {
                    strictRequiredStatusChecksPolicy: true,
                    requiredChecks: args.requiredChecks.map((context) => ({ context, integrationId: GITHUB_ACTIONS_APP_ID })),
                },
            },
        },
        child,
    );
}

/** The ruleset on release tags. */
function createReleaseTagRuleset(name: string, args: GithubRepositoryArgs, reviewerIds: ReviewerIds, child: ChildOptions): github.RepositoryRuleset {
    // A release tag deploys prod: only the people who approve prod may create, move or delete one.
    return new github.RepositoryRuleset(
        `${name}-release-tags`,
        {
            repository: args.name,
            name: "release tags",
            target: "tag",
            enforcement: "active",
            conditions: { refName: { includes: [`refs/tags/${RELEASE_TAG_PATTERN}`], excludes: [] } },
            rules: { creation: true, update: true, deletion: true, nonFastForward: true },
            bypassActors: releaseManagers(reviewerIds),
        },
        child,
    );
}
