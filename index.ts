import * as k8s from "@pulumi/kubernetes";
import * as path from "path";
import { sourceInfo, sourcePaths, sourceUrl } from "./catalog";
import { loadInputs } from "./config/inputs";
import { planImages } from "./config/plan";
import { PROD_ENVIRONMENT } from "./config/github";
import { GithubRepository } from "./components/githubRepository";
import { GpuNodePool } from "./components/gpuNodePool";
import { SessionImage } from "./components/sessionImage";
import { SessionTest } from "./components/sessionTest";
import { PROBE_IMAGE, TURN_IMAGE, usesTurn } from "./config/sessionTest";
import { StreamspaceTemplates } from "./components/streamspaceTemplates";

// 1. Catalog and configuration, both checked before any resource exists.
const { catalog, config } = loadInputs();
// The images to build: those the stack names, the session test's, and their bases.
const planned = planImages(catalog, config);

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

// 2. Images: every selected catalog image, bases first, pushed to the registry; on release stacks
// also under their metadata version and `latest`. Images the stack takes prebuilt are used as pinned.
const url = sourceUrl();
const images = SessionImage.buildAll(planned, {
    registry: config.registry,
    tag: config.images.tag,
    platform: config.images.platform,
    push: config.images.push,
    buildOnPreview: config.images.buildOnPreview,
    sourceUrl: url,
    release: config.images.release,
    prebuilt: config.images.prebuilt,
    source: (image) => sourceInfo(sourcePaths(image)),
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
              turn: usesTurn(config.sessionTest) ? { image: images.get(TURN_IMAGE)!.repoDigest, ports: catalog.get(TURN_IMAGE).ports } : undefined,
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
    images: planned.map((image) => ({ image, digest: images.get(image.name)!.repoDigest })),
    namespace: config.templates.namespace,
    apply: config.templates.apply,
    outputDir: path.join(config.templates.dir, config.stack),
    sourceUrl: url,
    provider: cluster,
    after: sessionTest ? [sessionTest.probeJob] : [],
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
export const probeJob = sessionTest?.probeJobName;
