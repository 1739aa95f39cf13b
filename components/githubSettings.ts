// The one list of the GitHub Actions secrets and variables the workflows under .github/workflows
// read. The GithubRepository component creates exactly these from the stack config, the README's
// CI section lists them, and a test checks that every `secrets.X` / `vars.X` a workflow uses is
// declared here and that the component creates nothing else.

export interface ActionsSetting {
    /** The name a workflow reads as `secrets.<name>` or `vars.<name>`. */
    name: string;
    /** The config key (project namespace) its value comes from. */
    configKey: string;
    /** What a workflow does with it. */
    description: string;
}

export const ACTIONS_SECRETS = [
    {
        name: "PULUMI_ACCESS_TOKEN",
        configKey: "githubPulumiAccessToken",
        description: "Pulumi Cloud access token: pulumi/actions logs in with it for previews and updates.",
    },
    {
        name: "PULUMI_CONFIG_PASSPHRASE",
        configKey: "githubPulumiConfigPassphrase",
        description: "Passphrase of the stacks' secrets provider, for self-managed backends that use one.",
    },
] as const satisfies readonly ActionsSetting[];

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
        name: "AWS_ROLE_ARN",
        configKey: "githubAwsRoleArn",
        description: "IAM role the workflows assume through GitHub OIDC (EKS GPU pool); unset skips AWS login.",
    },
    {
        name: "AWS_REGION",
        configKey: "githubAwsRegion",
        description: "Region of that role's session.",
    },
    {
        name: "GCP_WORKLOAD_IDENTITY_PROVIDER",
        configKey: "githubGcpWorkloadIdentityProvider",
        description: "Workload identity provider the workflows authenticate through (GKE GPU pool); unset skips GCP login.",
    },
    {
        name: "GCP_SERVICE_ACCOUNT",
        configKey: "githubGcpServiceAccount",
        description: "Service account impersonated through that provider.",
    },
] as const satisfies readonly ActionsSetting[];

export type ActionsSecretName = (typeof ACTIONS_SECRETS)[number]["name"];
export type ActionsVariableName = (typeof ACTIONS_VARIABLES)[number]["name"];

/** The branch pull requests target and staging deploys from. */
export const MAIN_BRANCH = "main";
/** Git tags that release to prod. */
export const RELEASE_TAG_PATTERN = "v*";
/** The workflow whose jobs are the pull-request checks branch protection can require. */
export const PULL_REQUEST_WORKFLOW = ".github/workflows/pull-request.yml";
