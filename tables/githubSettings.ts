// The one list of the GitHub Actions secrets and variables the workflows under .github/workflows
// read. The GithubRepository component creates exactly these from the stack config,
// docs/ci-and-releases.md lists them, and a test checks that every `secrets.X` / `vars.X` a workflow uses is
// declared here and that the component creates nothing else.

export interface ActionsSetting {
    /** The name a workflow reads as `secrets.<name>` or `vars.<name>`. */
    name: string;
    /** The config key (project namespace) its value comes from. */
    configKey: string;
    /** What a workflow does with it. */
    description: string;
}

/**
 * Secrets each GitHub Environment holds: the credentials of that environment's stack alone. They
 * are Environment secrets, never repository secrets, so that a job reads them only inside the
 * Environment, under its reviewers and its branch or tag rule: no pull request, no pushed branch
 * with a workflow of its own, reaches staging's or prod's.
 */
export const ENVIRONMENT_SECRETS = [
    {
        name: "PULUMI_ACCESS_TOKEN",
        configKey: "githubPulumiAccessTokens",
        description: "Pulumi Cloud access token of this environment's stack (for preview: one that can only read).",
    },
    {
        name: "PULUMI_CONFIG_PASSPHRASE",
        configKey: "githubPulumiConfigPassphrases",
        description: "Passphrase of this environment's stack, for self-managed backends that use one.",
    },
] as const satisfies readonly ActionsSetting[];

/** Variables each Environment holds: the cloud identity its jobs assume, one per environment. */
export const ENVIRONMENT_VARIABLES = [
    {
        name: "AWS_ROLE_ARN",
        configKey: "githubAwsRoleArns",
        description: "IAM role this environment's jobs assume through GitHub OIDC (EKS GPU pool); unset skips AWS login.",
    },
    {
        name: "GCP_WORKLOAD_IDENTITY_PROVIDER",
        configKey: "githubGcpWorkloadIdentityProviders",
        description: "Workload identity provider this environment's jobs authenticate through (GKE GPU pool); unset skips GCP login.",
    },
    {
        name: "GCP_SERVICE_ACCOUNT",
        configKey: "githubGcpServiceAccounts",
        description: "Service account this environment's jobs impersonate through that provider.",
    },
] as const satisfies readonly ActionsSetting[];

/** Repository variables: nothing in them grants access. */
export const ACTIONS_VARIABLES = [
    {
        name: "PULUMI_BACKEND_URL",
        configKey: "githubPulumiBackendUrl",
        description: "Self-managed state backend (s3://..., gs://...); unset uses Pulumi Cloud.",
    },
    {
        name: "DEPLOY_STACK",
        configKey: "githubDeployStack",
        description: "Stack that pushes to main update; unset means staging.",
    },
    {
        name: "AWS_REGION",
        configKey: "githubAwsRegion",
        description: "Region of the AWS sessions.",
    },
] as const satisfies readonly ActionsSetting[];

export type EnvironmentSecretName = (typeof ENVIRONMENT_SECRETS)[number]["name"];
export type EnvironmentVariableName = (typeof ENVIRONMENT_VARIABLES)[number]["name"];
export type ActionsVariableName = (typeof ACTIONS_VARIABLES)[number]["name"];

/** The branch pull requests target and staging deploys from. */
export const MAIN_BRANCH = "main";
/** Git tags that release to prod. */
export const RELEASE_TAG_PATTERN = "v*";
/**
 * The Environment pull-request previews run in. It has no branch rule (a pull request's ref is no
 * branch) and holds credentials that can only read the stacks previewed there, never prod's.
 */
export const PREVIEW_ENVIRONMENT = "preview";
/** The stacks pull requests preview (the `preview-stack` matrix of the pull-request workflow). */
export const PREVIEW_STACKS = ["staging"] as const;
/**
 * GitHub Actions' app id: required checks must come from it, so that a writer posting a commit
 * status of the same name through the API cannot satisfy them.
 */
export const GITHUB_ACTIONS_APP_ID = 15368;
/** The workflow whose jobs are the pull-request checks branch protection can require. */
export const PULL_REQUEST_WORKFLOW = ".github/workflows/pull-request.yml";
