import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ACTIONS_VARIABLES, ENVIRONMENT_SECRETS, ENVIRONMENT_VARIABLES, GITHUB_ACTIONS_APP_ID } from "../../tables/githubSettings";
import { ConfigError, parseStackConfig } from "../../config";
import { z } from "zod";
import { GithubConfig, githubSection } from "../../config/github";
import { PROJECT, byType, runProgram } from "../harness";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

/** A full configuration of the stack that manages the repository. */
const SAMPLE: Record<string, unknown> = {
    githubEnabled: true,
    githubRepository: "streamspace-dev/streamspace-images",
    githubEnvironments: ["staging", "prod"],
    githubProdReviewers: ["octocat", "streamspace-dev/releasers"],
    // Test doubles of three tokens: one per Environment.
    githubPulumiAccessTokens: { prod: "pul-test-double-prod", staging: "pul-test-double-staging", preview: "pul-test-double-read-only" },
    githubPulumiConfigPassphrases: { prod: "prod-passphrase", staging: "", preview: "" },
    githubPulumiBackendUrl: "s3://streamspace-state",
    githubAwsRoleArns: {
        prod: "arn:aws:iam::123456789012:role/streamspace-images-prod",
        staging: "arn:aws:iam::123456789012:role/streamspace-images-staging",
        preview: "arn:aws:iam::123456789012:role/streamspace-images-read-only",
    },
    githubAwsRegion: "us-east-1",
    githubGcpWorkloadIdentityProviders: { prod: "projects/123456789/locations/global/workloadIdentityPools/github/providers/streamspace-images" },
    githubGcpServiceAccounts: { prod: "streamspace-prod@my-project.iam.gserviceaccount.com" },
};

function rawConfig(values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(
        Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
    );
}

/** The github section alone, parsed and checked as the program does, without the other sections. */
function githubConfig(values: Record<string, unknown>, stack: string): GithubConfig {
    const input = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    const problems: string[] = [];
    const config = githubSection.build(z.object(githubSection.keys).parse(input), {
        stack,
        env: {},
        imageNames: [],
        isSet: (key) => key in values,
        problem: (p) => void problems.push(`${p.key}: ${p.message}`),
        setCommand: (key) => `pulumi config set ${key}`,
    });
    assert.deepEqual(problems, []);
    return config;
}

/** Builds the component from parsed config under mocks that answer GitHub's user and team look-ups. */
async function buildComponent(values: Record<string, unknown>, stack = "bootstrap"): Promise<{ resources: Registered[] }> {
    const resources: Registered[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                resources.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: (args) => {
                if (args.token === "github:index/getUser:getUser") return { id: "583231", login: args.inputs.username };
                if (args.token === "github:index/getTeam:getTeam") return { id: "4242", slug: args.inputs.slug };
                return args.inputs;
            },
        },
        PROJECT,
        stack,
        false,
    );
    const config = githubConfig(values, stack);
    const { GithubRepository } = await import("../../components/githubRepository");
    const component = new GithubRepository("github", {
        owner: config.owner,
        name: config.name,
        environments: config.environments,
        protectedEnvironment: "prod",
        reviewers: config.prodReviewers,
        deployEnvironment: config.deployStack,
        requiredChecks: config.requiredChecks,
        environmentSecrets: config.environmentSecrets,
        environmentVariables: config.environmentVariables,
        variables: config.variables,
    });
    await new Promise<void>((resolve) => pulumi.output(component.urn).apply(() => resolve()));
    await new Promise((r) => setTimeout(r, 50));
    return { resources };
}

const ofType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);

describe("GithubRepository", () => {
    let resources: Registered[];
    before(async () => {
        ({ resources } = await buildComponent(SAMPLE));
    });

    it("acts on the configured owner through its own GitHub provider", () => {
        const providers = ofType(resources, "pulumi:providers:github");
        assert.equal(providers.length, 1);
        assert.equal(providers[0].inputs.owner, "streamspace-dev");
        assert.equal(providers[0].inputs.token, undefined, "the token must come from GITHUB_TOKEN, not the state");
    });

    it("makes one Environment per stack and one for previews; prod waits for the configured reviewers", () => {
        const envs = ofType(resources, "github:index/repositoryEnvironment:RepositoryEnvironment");
        assert.deepEqual(envs.map((e) => e.inputs.environment).sort(), ["preview", "prod", "staging"]);
        for (const e of envs) assert.equal(e.inputs.repository, "streamspace-images");
        const prod = envs.find((e) => e.inputs.environment === "prod")!;
        assert.deepEqual(prod.inputs.reviewers, [{ users: [583231], teams: [4242] }]);
        assert.equal(prod.inputs.preventSelfReview, true);
        assert.equal(prod.inputs.canAdminsBypass, false);
        const staging = envs.find((e) => e.inputs.environment === "staging")!;
        assert.deepEqual(staging.inputs.reviewers, []);
        // A pull request's ref is no branch: the previews' Environment has no deployment rule.
        const preview = envs.find((e) => e.inputs.environment === "preview")!;
        assert.equal(preview.inputs.deploymentBranchPolicy, undefined);
    });

    it("lets prod deploy from release tags only and staging from main only", () => {
        const policies = ofType(resources, "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy");
        const byEnv = Object.fromEntries(policies.map((p) => [p.inputs.environment, p.inputs.tagPattern ?? `branch:${p.inputs.branchPattern}`]));
        assert.deepEqual(byEnv, { prod: "v*", staging: "branch:main" });
    });

    it("keeps each stack's credentials in its own Environment: no repository secret at all", () => {
        assert.deepEqual(ofType(resources, "github:index/actionsSecret:ActionsSecret"), []);
        const secrets = ofType(resources, "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
        const byEnv = (name: string) =>
            Object.fromEntries(secrets.filter((s) => s.inputs.secretName === name).map((s) => [s.inputs.environment, s.inputs.value]));
        const secret = (value: string) => ({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value });
        // The engine receives each value marked secret: it is stored encrypted in the state.
        assert.deepEqual(byEnv("PULUMI_ACCESS_TOKEN"), {
            prod: secret("pul-test-double-prod"),
            staging: secret("pul-test-double-staging"),
            preview: secret("pul-test-double-read-only"),
        });
        assert.deepEqual(byEnv("PULUMI_CONFIG_PASSPHRASE"), { prod: secret("prod-passphrase"), staging: secret(""), preview: secret("") });
        for (const s of secrets) {
            assert.equal(s.inputs.plaintextValue, undefined);
            assert.ok(ENVIRONMENT_SECRETS.some((d) => d.name === s.inputs.secretName));
        }
    });

    it("gives each Environment its own cloud identity, and the repository only what grants nothing", () => {
        const variables = ofType(resources, "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable");
        const of = (env: string) => Object.fromEntries(variables.filter((v) => v.inputs.environment === env).map((v) => [v.inputs.variableName, v.inputs.value]));
        assert.deepEqual(of("prod"), {
            AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/streamspace-images-prod",
            GCP_WORKLOAD_IDENTITY_PROVIDER: "projects/123456789/locations/global/workloadIdentityPools/github/providers/streamspace-images",
            GCP_SERVICE_ACCOUNT: "streamspace-prod@my-project.iam.gserviceaccount.com",
        });
        assert.deepEqual(of("staging"), { AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/streamspace-images-staging" });
        assert.deepEqual(of("preview"), { AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/streamspace-images-read-only" });
        for (const v of variables) assert.ok(ENVIRONMENT_VARIABLES.some((d) => d.name === v.inputs.variableName));
        const repository = ofType(resources, "github:index/actionsVariable:ActionsVariable");
        assert.deepEqual(Object.fromEntries(repository.map((v) => [v.inputs.variableName, v.inputs.value])), {
            PULUMI_BACKEND_URL: "s3://streamspace-state",
            DEPLOY_STACK: "staging",
            AWS_REGION: "us-east-1",
        });
        for (const v of repository) assert.ok(ACTIONS_VARIABLES.some((d) => d.name === v.inputs.variableName));
    });

    it("leaves out the secrets and variables whose config is unset", async () => {
        const minimal = { ...SAMPLE };
        for (const k of ["githubPulumiConfigPassphrases", "githubPulumiBackendUrl", "githubAwsRoleArns", "githubAwsRegion", "githubGcpWorkloadIdentityProviders", "githubGcpServiceAccounts"]) delete minimal[k];
        const { resources: few } = await buildComponent(minimal);
        assert.deepEqual(
            ofType(few, "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret").map((s) => `${s.inputs.environment}/${s.inputs.secretName}`).sort(),
            ["preview/PULUMI_ACCESS_TOKEN", "prod/PULUMI_ACCESS_TOKEN", "staging/PULUMI_ACCESS_TOKEN"],
        );
        assert.deepEqual(ofType(few, "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"), []);
        assert.deepEqual(ofType(few, "github:index/actionsVariable:ActionsVariable").map((v) => v.inputs.variableName), ["DEPLOY_STACK"]);
    });

    it("lets only the prod reviewers create, move or delete release tags", () => {
        const rulesets = ofType(resources, "github:index/repositoryRuleset:RepositoryRuleset");
        const tags = rulesets.find((r) => r.inputs.target === "tag")!;
        assert.deepEqual(tags.inputs.conditions, { refName: { includes: ["refs/tags/v*"], excludes: [] } });
        assert.deepEqual(tags.inputs.rules, { creation: true, update: true, deletion: true, nonFastForward: true });
        assert.equal(tags.inputs.enforcement, "active");
        // octocat (user 583231) and streamspace-dev/releasers (team 4242), as the mocks answer their look-ups.
        assert.deepEqual(tags.inputs.bypassActors, [
            { actorType: "User", actorId: 583231, bypassMode: "always" },
            { actorType: "Team", actorId: 4242, bypassMode: "always" },
        ]);
    });

    it("protects main: the pull-request checks as GitHub Actions reports them, a review, no force pushes, no bypass", () => {
        assert.deepEqual(ofType(resources, "github:index/branchProtection:BranchProtection"), []);
        const main = ofType(resources, "github:index/repositoryRuleset:RepositoryRuleset").find((r) => r.inputs.target === "branch")!;
        assert.equal(main.inputs.repository, "streamspace-images");
        assert.deepEqual(main.inputs.conditions, { refName: { includes: ["refs/heads/main"], excludes: [] } });
        // A check of the same name posted through the statuses API by any writer does not count.
        assert.deepEqual(main.inputs.rules.requiredStatusChecks, {
            strictRequiredStatusChecksPolicy: true,
            requiredChecks: ["test", "images", "preview"].map((context) => ({ context, integrationId: GITHUB_ACTIONS_APP_ID })),
        });
        assert.equal(GITHUB_ACTIONS_APP_ID, 15368);
        assert.equal(main.inputs.rules.nonFastForward, true);
        assert.equal(main.inputs.rules.deletion, true);
        assert.equal(main.inputs.rules.pullRequest.requiredApprovingReviewCount, 1);
        assert.equal(main.inputs.bypassActors, undefined, "someone may bypass main's rules");
    });
});

describe("github config", () => {
    // The problems of the github section; the other sections' checks are theirs to test.
    const problemsOf = (values: Record<string, unknown>, stack = "bootstrap") => {
        try {
            parseStackConfig(rawConfig(values), { stack, imageNames: ["chrome-selkies"] });
            return [];
        } catch (e) {
            assert.ok(e instanceof ConfigError, String(e));
            return e.problems.filter((p) => p.key.startsWith("github"));
        }
    };

    it("accepts the sample configuration", () => {
        assert.deepEqual(problemsOf(SAMPLE), []);
    });

    it("ignores the github keys while githubEnabled is off", () => {
        assert.deepEqual(problemsOf({ githubRepository: "not a repository", githubProdReviewers: [] }), []);
    });

    it("names an unknown stack in githubEnvironments and lists the real ones", () => {
        const [p, ...rest] = problemsOf({ ...SAMPLE, githubEnvironments: ["staging", "prod", "qa"] });
        assert.equal(rest.length, 0);
        assert.equal(p.key, "githubEnvironments");
        assert.match(p.message, /'qa' is not a stack of this repository/);
        assert.match(p.message, /dev, prod, staging/);
        assert.equal(p.fix, "pulumi config set githubEnvironments '[staging,prod]' --stack bootstrap");
    });

    it("refuses a prod environment without reviewers", () => {
        const problems = problemsOf({ ...SAMPLE, githubProdReviewers: [] });
        assert.deepEqual(problems.map((p) => p.key), ["githubProdReviewers"]);
        assert.match(problems[0].message, /'prod' environment needs at least one required reviewer/);
        assert.match(problems[0].fix, /^pulumi config set --path 'githubProdReviewers\[0\]' octocat --stack bootstrap$/);
    });

    it("refuses a malformed repository name, and a missing one", () => {
        for (const bad of ["streamspace-images", "streamspace-dev/", "https://github.com/streamspace-dev/streamspace-images", "-dev/x"]) {
            const problems = problemsOf({ ...SAMPLE, githubRepository: bad });
            assert.deepEqual(problems.map((p) => p.key), ["githubRepository"], bad);
            assert.match(problems[0].message, /expected owner\/name/);
            assert.equal(problems[0].fix, "pulumi config set githubRepository streamspace-dev/streamspace-images --stack bootstrap");
        }
        const missing = { ...SAMPLE };
        delete missing.githubRepository;
        assert.match(problemsOf(missing)[0].message, /name the repository to manage as owner\/name/);
    });

    it("refuses reviewers that are neither logins nor teams of the repository's organisation", () => {
        const problems = problemsOf({ ...SAMPLE, githubProdReviewers: ["not a login", "other-org/releasers"] });
        assert.deepEqual(problems.map((p) => p.key), ["githubProdReviewers", "githubProdReviewers"]);
        assert.match(problems[0].message, /'not a login': expected a user login/);
        assert.match(problems[1].message, /only teams of the repository's organisation 'streamspace-dev'/);
    });

    it("refuses to manage the repository from a stack the workflows deploy", () => {
        const problems = problemsOf(SAMPLE, "staging");
        assert.deepEqual(problems.map((p) => p.key), ["githubEnabled"]);
        assert.match(problems[0].message, /must not manage the credentials its own updates run with/);
    });

    it("requires checks the pull-request workflow reports, a deploy stack that is an environment, and a backend login", () => {
        const checks = problemsOf({ ...SAMPLE, githubRequiredChecks: ["test", "lint"] });
        assert.deepEqual(checks.map((p) => p.key), ["githubRequiredChecks"]);
        assert.match(checks[0].message, /'lint' is not reported by .github\/workflows\/pull-request.yml/);
        assert.match(checks[0].message, /test, changed images, image \$\{\{ matrix.image \}\}, images, preview \$\{\{ matrix.stack \}\}, preview/);

        assert.match(problemsOf({ ...SAMPLE, githubDeployStack: "dev" })[0].message, /must be one of githubEnvironments \(staging, prod\)/);
        assert.match(problemsOf({ ...SAMPLE, githubDeployStack: "prod" })[0].message, /pushes to main must deploy another stack/);

        const noLogin: Record<string, unknown> = { ...SAMPLE, githubPulumiAccessTokens: { prod: "pul-test-double-prod" } };
        delete noLogin.githubPulumiBackendUrl;
        const [login, ...rest] = problemsOf(noLogin);
        assert.deepEqual(rest, []);
        assert.equal(login.key, "githubPulumiAccessTokens");
        assert.equal(login.value, undefined);
        assert.match(login.message, /^no Pulumi access token for 'staging', 'preview': each Environment logs in with a token of its own/);
        assert.equal(login.fix, "pulumi config set --path 'githubPulumiAccessTokens.staging' '<token>' --secret --stack bootstrap  (or: pulumi config set githubPulumiBackendUrl s3://streamspace-pulumi-state --stack bootstrap)");
    });

    it("refuses to share prod's token, role or service account with another Environment, and prod's passphrase with previews", () => {
        const shared = problemsOf({
            ...SAMPLE,
            githubPulumiAccessTokens: { prod: "pul-same", staging: "pul-same", preview: "pul-read" },
            githubAwsRoleArns: { prod: "arn:aws:iam::123456789012:role/ci", preview: "arn:aws:iam::123456789012:role/ci" },
            githubGcpServiceAccounts: { prod: "streamspace-ci@my-project.iam.gserviceaccount.com", staging: "streamspace-ci@my-project.iam.gserviceaccount.com" },
            githubGcpWorkloadIdentityProviders: {
                prod: "projects/1/locations/global/workloadIdentityPools/github/providers/p",
                staging: "projects/1/locations/global/workloadIdentityPools/github/providers/p",
            },
            githubPulumiConfigPassphrases: { prod: "prod-passphrase", preview: "prod-passphrase" },
        });
        assert.deepEqual(shared.map((p) => p.key), ["githubPulumiAccessTokens", "githubAwsRoleArns", "githubGcpServiceAccounts", "githubPulumiConfigPassphrases"]);
        assert.match(shared[0].message, /^'prod' shares its Pulumi access token with 'staging': a job there could then update or read prod without prod's reviewers/);
        assert.match(shared[1].message, /^'prod' shares its AWS role with 'preview'/);
        assert.match(shared[2].message, /^'prod' shares its GCP service account with 'staging'/);
        assert.match(shared[3].message, /^'preview' holds prod's passphrase/);
        assert.ok(!JSON.stringify(shared).includes("pul-same") && !JSON.stringify(shared).includes("prod-passphrase"), "a secret value is shown");
    });

    it("names entries of Environments that do not exist, and keeps the previews' name for itself", () => {
        const unknown = problemsOf({ ...SAMPLE, githubAwsRoleArns: { ...(SAMPLE.githubAwsRoleArns as object), qa: "arn:aws:iam::123456789012:role/qa" } });
        assert.deepEqual(unknown.map((p) => p.key), ["githubAwsRoleArns"]);
        assert.match(unknown[0].message, /^'qa' is not an Environment of this repository; the entries must be named after one of: staging, prod, preview$/);
        assert.equal(unknown[0].fix, "pulumi config rm --path 'githubAwsRoleArns.qa' --stack bootstrap");
    });

    it("checks the cloud identities' formats and that each GCP provider comes with its service account", () => {
        const problems = problemsOf({
            ...SAMPLE,
            githubAwsRoleArns: { prod: "streamspace-ci" },
            githubGcpServiceAccounts: {},
        });
        assert.deepEqual(problems.map((p) => p.key).sort(), ["githubAwsRoleArns", "githubGcpServiceAccounts"]);
        const noRegion = { ...SAMPLE };
        delete noRegion.githubAwsRegion;
        assert.deepEqual(problemsOf(noRegion).map((p) => p.key), ["githubAwsRegion"]);
    });

    it("refuses tokens stored in plaintext, with a fix that re-stores each entry encrypted without printing it", () => {
        let error: unknown;
        try {
            parseStackConfig(rawConfig(SAMPLE), { stack: "bootstrap", imageNames: ["chrome-selkies"], secretKeys: new Set([`${PROJECT}:githubPulumiConfigPassphrases`]) });
        } catch (e) {
            error = e;
        }
        assert.ok(error instanceof ConfigError, String(error));
        const [p, ...rest] = error.problems.filter((q) => q.key.startsWith("github"));
        assert.deepEqual(rest, []);
        assert.equal(p.key, "githubPulumiAccessTokens");
        assert.equal(p.value, "(secret)");
        assert.equal(
            p.fix,
            ["prod", "staging", "preview"]
                .map((e) => `pulumi config set --path githubPulumiAccessTokens.${e} "$(pulumi config get --path githubPulumiAccessTokens.${e} --stack bootstrap)" --secret --stack bootstrap`)
                .join("  and  "),
        );
        assert.ok(!JSON.stringify(error.problems).includes("pul-test-double"), "a token is shown");
    });

    it("never shows a secret value in a problem", () => {
        const problems = problemsOf({ ...SAMPLE, githubPulumiAccessTokens: { prod: "pul-leaked", qa: "pul-leaked-2" }, githubRepository: "bad" });
        assert.ok(problems.length >= 2);
        assert.ok(!JSON.stringify(problems).includes("pul-leaked"));
    });
});

describe("the program with githubEnabled", () => {
    it("registers the GithubRepository component on the managing stack", async () => {
        const run = await runProgram({ stack: "dev", config: SAMPLE });
        assert.equal(run.error, undefined, run.error?.message);
        assert.equal(byType(run, "streamspace:github:GithubRepository").length, 1);
        assert.equal(byType(run, "github:index/repositoryEnvironment:RepositoryEnvironment").length, 3);
        const settings = run.outputs.githubSettings as { secrets: string[]; variables: string[] };
        assert.deepEqual(settings.secrets.sort(), ["preview", "prod", "staging"].flatMap((e) => ENVIRONMENT_SECRETS.map((s) => `${e}/${s.name}`)).sort());
        assert.deepEqual(settings.variables.sort(), [
            "AWS_REGION",
            "DEPLOY_STACK",
            "PULUMI_BACKEND_URL",
            "preview/AWS_ROLE_ARN",
            "prod/AWS_ROLE_ARN",
            "prod/GCP_SERVICE_ACCOUNT",
            "prod/GCP_WORKLOAD_IDENTITY_PROVIDER",
            "staging/AWS_ROLE_ARN",
        ]);
    });

    it("registers nothing of GitHub's on the other stacks", async () => {
        const run = await runProgram({ stack: "dev" });
        assert.equal(run.error, undefined, run.error?.message);
        assert.equal(run.resources.filter((r) => r.type.startsWith("github:") || r.type.includes("GithubRepository")).length, 0);
    });

    it("registers no resource at all when the github config is wrong", async () => {
        const run = await runProgram({ stack: "dev", config: { ...SAMPLE, githubEnvironments: ["qa"], githubProdReviewers: [] } });
        assert.equal(run.error?.name, "ConfigError", String(run.error));
        assert.match(run.error!.message, /githubEnvironments/);
        assert.deepEqual(run.resources, []);
    });
});
