import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { GithubReviewers } from "../config/github";
import { ACTIONS_SECRETS, ACTIONS_VARIABLES, ActionsSecretName, ActionsVariableName, MAIN_BRANCH, RELEASE_TAG_PATTERN } from "./githubSettings";

export interface GithubRepositoryArgs {
    /** The repository's owner (user or organisation); the GitHub provider acts on it. */
    owner: string;
    /** The repository's name, without owner. */
    name: string;
    /** One GitHub Environment per stack named here. */
    environments: string[];
    /** The environment whose deployments wait for reviewers (prod). */
    protectedEnvironment: string;
    /** Users and teams that approve deployments to the protected environment. */
    reviewers: GithubReviewers;
    /** The environment pushes to main deploy to. */
    deployEnvironment: string;
    /** Pull-request checks main requires before a merge. */
    requiredChecks: string[];
    /** Actions secrets to create, by name (values are Pulumi secrets). */
    secrets: Partial<Record<ActionsSecretName, pulumi.Input<string>>>;
    /** Actions variables to create, by name. */
    variables: Partial<Record<ActionsVariableName, string>>;
    /** A GitHub provider to use; by default one is made for `owner`, with its token from GITHUB_TOKEN. */
    provider?: github.Provider;
}

/**
 * The repository settings the workflows depend on: an Environment per stack (the protected one
 * with required reviewers and deployable from release tags only, the deploy one from main only),
 * the Actions secrets and variables named in githubSettings.ts, and branch protection on main.
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
        const child = { parent: this, provider };
        const repository = args.name;

        for (const env of args.environments) {
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
                    reviewers: isProtected ? [this.reviewerIds(args.reviewers, provider)] : [],
                    deploymentBranchPolicy: restricted ? { protectedBranches: false, customBranchPolicies: true } : undefined,
                },
                child,
            );
            this.environments[env] = environment;
            if (restricted) {
                new github.RepositoryEnvironmentDeploymentPolicy(
                    `${name}-${env}-${isProtected ? "tags" : "main"}`,
                    isProtected
                        ? { repository, environment: environment.environment, tagPattern: RELEASE_TAG_PATTERN }
                        : { repository, environment: environment.environment, branchPattern: MAIN_BRANCH },
                    child,
                );
            }
        }

        this.secretNames = [];
        for (const { name: secretName } of ACTIONS_SECRETS) {
            const value = args.secrets[secretName];
            if (value === undefined) continue;
            new github.ActionsSecret(`${name}-${secretName}`, { repository, secretName, value: pulumi.secret(value) }, child);
            this.secretNames.push(secretName);
        }
        this.variableNames = [];
        for (const { name: variableName } of ACTIONS_VARIABLES) {
            const value = args.variables[variableName];
            if (value === undefined) continue;
            new github.ActionsVariable(`${name}-${variableName}`, { repository, variableName, value }, child);
            this.variableNames.push(variableName);
        }

        new github.BranchProtection(
            `${name}-${MAIN_BRANCH}`,
            {
                repositoryId: repository,
                pattern: MAIN_BRANCH,
                enforceAdmins: true,
                allowsForcePushes: false,
                allowsDeletions: false,
                requiredStatusChecks: [{ strict: true, contexts: args.requiredChecks }],
                requiredPullRequestReviews: [{ requiredApprovingReviewCount: 1, dismissStaleReviews: true }],
            },
            child,
        );

        this.registerOutputs({ secretNames: this.secretNames, variableNames: this.variableNames });
    }

    /** GitHub wants numeric ids of the reviewers; the logins and slugs are looked up. */
    private reviewerIds(reviewers: GithubReviewers, provider: github.Provider): github.types.input.RepositoryEnvironmentReviewer {
        const invoke = { parent: this, provider };
        return {
            users: reviewers.users.map((username) => github.getUserOutput({ username }, invoke).id.apply(Number)),
            teams: reviewers.teams.map((slug) => github.getTeamOutput({ slug, summaryOnly: true }, invoke).id.apply(Number)),
        };
    }
}
