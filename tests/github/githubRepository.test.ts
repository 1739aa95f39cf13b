import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ACTIONS_SECRETS, ACTIONS_VARIABLES } from "../../components/githubSettings";
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
    githubPulumiAccessToken: "pul-test-double",
    githubPulumiConfigPassphrase: "",
    githubPulumiBackendUrl: "s3://streamspace-state",
    githubAwsRoleArn: "arn:aws:iam::123456789012:role/streamspace-images-ci",
    githubAwsRegion: "us-east-1",
    githubGcpWorkloadIdentityProvider: "projects/123456789/locations/global/workloadIdentityPools/github/providers/streamspace-images",
    githubGcpServiceAccount: "streamspace-ci@my-project.iam.gserviceaccount.com",
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
        secrets: config.secrets,
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

    it("makes one Environment per stack; prod waits for the configured reviewers", () => {
        const envs = ofType(resources, "github:index/repositoryEnvironment:RepositoryEnvironment");
        assert.deepEqual(envs.map((e) => e.inputs.environment).sort(), ["prod", "staging"]);
        for (const e of envs) assert.equal(e.inputs.repository, "streamspace-images");
        const prod = envs.find((e) => e.inputs.environment === "prod")!;
        assert.deepEqual(prod.inputs.reviewers, [{ users: [583231], teams: [4242] }]);
        assert.equal(prod.inputs.preventSelfReview, true);
        assert.equal(prod.inputs.canAdminsBypass, false);
        const staging = envs.find((e) => e.inputs.environment === "staging")!;
        assert.deepEqual(staging.inputs.reviewers, []);
    });

    it("lets prod deploy from release tags only and staging from main only", () => {
        const policies = ofType(resources, "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy");
        const byEnv = Object.fromEntries(policies.map((p) => [p.inputs.environment, p.inputs.tagPattern ?? `branch:${p.inputs.branchPattern}`]));
        assert.deepEqual(byEnv, { prod: "v*", staging: "branch:main" });
    });

    it("creates exactly the Actions secrets and variables the workflows read", () => {
        const secrets = ofType(resources, "github:index/actionsSecret:ActionsSecret");
        const variables = ofType(resources, "github:index/actionsVariable:ActionsVariable");
        assert.deepEqual(secrets.map((s) => s.inputs.secretName).sort(), ACTIONS_SECRETS.map((s) => s.name).sort());
        assert.deepEqual(variables.map((v) => v.inputs.variableName).sort(), ACTIONS_VARIABLES.map((v) => v.name).sort());
        const vars = Object.fromEntries(variables.map((v) => [v.inputs.variableName, v.inputs.value]));
        assert.equal(vars.DEPLOY_STACK, "staging");
        assert.equal(vars.AWS_ROLE_ARN, SAMPLE.githubAwsRoleArn);
        const token = secrets.find((s) => s.inputs.secretName === "PULUMI_ACCESS_TOKEN")!;
        // The engine receives the value marked secret: it is stored encrypted in the state.
        assert.deepEqual(token.inputs.value, { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: "pul-test-double" });
        assert.equal(token.inputs.plaintextValue, undefined);
    });

    it("leaves out the secrets and variables whose config is unset", async () => {
        const minimal = { ...SAMPLE };
        for (const k of ["githubPulumiConfigPassphrase", "githubPulumiBackendUrl", "githubAwsRoleArn", "githubAwsRegion", "githubGcpWorkloadIdentityProvider", "githubGcpServiceAccount"]) delete minimal[k];
        const { resources: few } = await buildComponent(minimal);
        assert.deepEqual(ofType(few, "github:index/actionsSecret:ActionsSecret").map((s) => s.inputs.secretName), ["PULUMI_ACCESS_TOKEN"]);
        assert.deepEqual(ofType(few, "github:index/actionsVariable:ActionsVariable").map((v) => v.inputs.variableName), ["DEPLOY_STACK"]);
    });

    it("protects main: the pull-request checks, a review, no force pushes", () => {
        const [protection] = ofType(resources, "github:index/branchProtection:BranchProtection");
        assert.equal(protection.inputs.pattern, "main");
        assert.equal(protection.inputs.repositoryId, "streamspace-images");
        assert.deepEqual(protection.inputs.requiredStatusChecks, [{ strict: true, contexts: ["test", "images", "preview"] }]);
        assert.equal(protection.inputs.allowsForcePushes, false);
        assert.equal(protection.inputs.requiredPullRequestReviews[0].requiredApprovingReviewCount, 1);
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

        const noLogin = { ...SAMPLE };
        delete noLogin.githubPulumiAccessToken;
        delete noLogin.githubPulumiBackendUrl;
        const [login] = problemsOf(noLogin);
        assert.equal(login.key, "githubPulumiAccessToken");
        assert.equal(login.value, undefined);
    });

    it("checks the cloud identities' formats and that each comes with its pair", () => {
        const problems = problemsOf({ ...SAMPLE, githubAwsRoleArn: "streamspace-ci", githubGcpServiceAccount: undefined });
        assert.deepEqual(problems.map((p) => p.key).sort(), ["githubAwsRoleArn", "githubGcpServiceAccount"]);
    });

    it("never shows a secret value in a problem", () => {
        const problems = problemsOf({ ...SAMPLE, githubPulumiAccessToken: "pul-leaked", githubRepository: "bad" });
        assert.ok(!JSON.stringify(problems).includes("pul-leaked"));
    });
});

describe("the program with githubEnabled", () => {
    it("registers the GithubRepository component on the managing stack", async () => {
        const run = await runProgram({ stack: "dev", config: SAMPLE });
        assert.equal(run.error, undefined, run.error?.message);
        assert.equal(byType(run, "streamspace:github:GithubRepository").length, 1);
        assert.equal(byType(run, "github:index/repositoryEnvironment:RepositoryEnvironment").length, 2);
        assert.deepEqual(run.outputs.githubSettings, {
            secrets: ACTIONS_SECRETS.map((s) => s.name),
            variables: ACTIONS_VARIABLES.map((v) => v.name),
        });
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
