import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { isShallowClone, selectImages, sourceInfo, sourceUrl } from "./catalog";
import { ConfigError } from "./config";
import { loadInputs } from "./config/inputs";
import { PROD_ENVIRONMENT } from "./config/github";
import { GithubRepository } from "./components/githubRepository";
import { GpuNodePool } from "./components/gpuNodePool";
import { SessionImage } from "./components/sessionImage";
import { SessionTest } from "./components/sessionTest";
import { PROBE_IMAGE, TURN_IMAGE, sessionTestCatalogProblems, usesTurn, withSessionTestImages } from "./config/sessionTest";
import { StreamspaceTemplates } from "./components/streamspaceTemplates";

// 1. Catalog and configuration, both checked before any resource exists.
const { catalog, config } = loadInputs();
// The session test's images (session, probe, relay) are built whenever the test is on.
const selection = config.images.enabled
    ? selectImages(catalog, withSessionTestImages(config.images.selected, config.sessionTest), config.images.platform)
    : { images: [], skipped: [], unbuildable: [] };
if (selection.unbuildable.length > 0) {
    throw new ConfigError(
        config.stack,
        selection.unbuildable.map((reason) => ({
            key: "images",
            value: JSON.stringify(config.images.selected),
            message: `cannot be built for ${config.images.platform}: ${reason}`,
            fix: `pulumi config set imagePlatform linux/amd64 --stack ${config.stack}  (or remove the image from 'images')`,
        })),
    );
}
const sessionTestProblems = sessionTestCatalogProblems(config.sessionTest, catalog, selection.images.map((i) => i.name), config.stack);
if (sessionTestProblems.length > 0) throw new ConfigError(config.stack, sessionTestProblems);
for (const s of selection.skipped) pulumi.log.info(`skipping ${s.name}: ${s.reason}`);
if (isShallowClone()) {
    pulumi.log.warn("this is a shallow git clone: image revisions cannot be traced to the last commit of each folder, so every image rebuilds. Clone with full history (actions/checkout: fetch-depth: 0).");
}

// The GitHub repository settings the workflows depend on, from the stack that manages them.
const githubRepository = config.github.enabled
    ? new GithubRepository("github", {
          owner: config.github.owner,
          name: config.github.name,
          environments: config.github.environments,
          protectedEnvironment: PROD_ENVIRONMENT,
          reviewers: config.github.prodReviewers,
          deployEnvironment: config.github.deployStack,
          requiredChecks: config.github.requiredChecks,
          environmentSecrets: config.github.environmentSecrets,
          environmentVariables: config.github.environmentVariables,
          variables: config.github.variables,
      })
    : undefined;

// 2. Images: every selected catalog image, bases first, pushed to the registry.
const release = config.images.release && config.images.push;
const tagProvider = release
    ? new docker.Provider("registry", {
          registryAuth: config.registry.token
              ? [{ address: config.registry.server, username: config.registry.username, password: config.registry.token }]
              : [],
      })
    : undefined;
const url = sourceUrl();
const images = SessionImage.buildAll(selection.images, {
    registry: config.registry,
    tag: config.images.tag,
    platform: config.images.platform,
    push: config.images.push,
    buildOnPreview: config.images.buildOnPreview,
    sourceUrl: url,
    tagProvider,
    source: (image) => sourceInfo(image.folder),
    extraTags: (image) => (release ? [image.version, "latest"] : []),
});

// 3. The cluster: the kubeconfig and context from config, else the ambient ones; and the GPU nodes
// sessions run on (EKS, GKE, an existing cluster's, or none), with what scheduling onto them needs.
const cluster = new k8s.Provider("cluster", {
    kubeconfig: config.kubernetes.kubeconfig,
    context: config.kubernetes.context,
});
const gpu = new GpuNodePool("gpu", { config: config.gpu, kubernetes: cluster });

// 4. A test session of the chosen image on the GPU nodes; the update fails unless stream-probe,
// running in the cluster, sees its video frames stream.
const sessionTestImage = config.sessionTest.image;
const sessionTest = config.sessionTest.enabled
    ? new SessionTest(
          "session-test",
          {
              config: config.sessionTest,
              session: { name: sessionTestImage, repoDigest: images.get(sessionTestImage)!.repoDigest, ports: catalog.get(sessionTestImage).ports },
              probeImage: images.get(PROBE_IMAGE)!.repoDigest,
              turnImage: usesTurn(config.sessionTest) ? images.get(TURN_IMAGE)!.repoDigest : undefined,
              scheduling: gpu.scheduling,
              stack: config.stack,
              kubeContext: config.kubernetes.context,
          },
          { providers: { kubernetes: cluster }, dependsOn: [gpu] },
      )
    : undefined;

// 5. StreamSpace Templates of every built session image, pinned to its pushed digest: written as
// YAML for review, and created in the cluster where StreamSpace's CRDs are installed; only once the
// session test has passed, so a session that does not stream is never published.
const templates = new StreamspaceTemplates("streamspace", {
    images: selection.images.map((image) => ({ image, digest: images.get(image.name)!.repoDigest })),
    namespace: config.templates.namespace,
    apply: config.templates.apply,
    outputDir: path.join(config.templates.dir, config.stack),
    sourceUrl: url,
    provider: cluster,
    after: sessionTest ? [sessionTest.smokeTest] : [],
});

// Outputs.
export const imageNames = Object.fromEntries([...images].map(([name, image]) => [name, image.imageName]));
export const imageDigests = Object.fromEntries([...images].map(([name, image]) => [name, image.repoDigest]));
export const gpuScheduling = gpu.scheduling;
export const templatesYaml = templates.yaml;
export const githubSettings = githubRepository && { secrets: githubRepository.secretNames, variables: githubRepository.variableNames };
// Watching the test session (docs/session-test.md, "Watch the test session"); the password only as a secret.
export const sessionUrl = sessionTest?.sessionUrl;
export const watchCommands = sessionTest?.watchCommands;
export const watchUrl = sessionTest?.watchUrl;
export const sessionUser = sessionTest?.user;
export const sessionPassword = sessionTest?.password;
export const passwordCommand = sessionTest?.passwordCommand;
export const probeImage = sessionTest?.probeImage;
export const smokeTestJob = sessionTest?.smokeTestJobName;
