import { strict as assert } from "assert";
import * as os from "os";
import * as path from "path";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { loadCatalog, sourceInfo, sourcePaths, sourceUrl, treeHash } from "../../catalog";
import {
    ImageInputsArgs,
    baseImageOf,
    extraTagInputs,
    imageBuildArgs,
    imageRepository,
    imageTags,
    keptTagInputs,
    releaseTags,
    sessionImageInputs,
    tagProviderInputs,
} from "../../components/sessionImage";
import { DIGEST, validCatalog } from "../catalog/fixtures";
import { ProgramRun, ROOT, RegisteredResource, byType, one, runProgram } from "../harness";

const IMAGE = "docker:index/image:Image";
const ghcr = { registryServer: "ghcr.io", registryOwner: "acme" };
const token = { GHCR_TOKEN: "test-double-token" };

function image(run: ProgramRun, name: string): RegisteredResource {
    return one(run, IMAGE, name);
}

const SOURCE = { revision: "0".repeat(40), created: "2026-01-01T00:00:00Z" };
const SOURCE_URL = "https://github.com/acme/streamspace-images";
const BASE_DIGEST = `ghcr.io/acme/base@sha256:${DIGEST}`;
const LOGIN = { server: "ghcr.io", owner: "acme", username: "acme", token: "test-double-token" };
/** The labels of the fixture catalog's app image built from SOURCE. */
const APP_LABELS = {
    OCI_TITLE: "App",
    OCI_DESCRIPTION: "An app.",
    OCI_VERSION: "1.2.3",
    OCI_REVISION: SOURCE.revision,
    OCI_CREATED: SOURCE.created,
    OCI_SOURCE: SOURCE_URL,
    OCI_URL: SOURCE_URL,
    OCI_DOCUMENTATION: `${SOURCE_URL}/tree/main/images/app`,
    OCI_VENDOR: "StreamSpace",
    OCI_LICENSES: "Apache-2.0",
};

/** The docker.Image inputs of the fixture catalog's app, pushed as v2.0.0 FROM its base's digest; `overrides` replace any argument. */
function appInputs(overrides: Partial<ImageInputsArgs> = {}): any {
    const root = validCatalog();
    return sessionImageInputs({
        image: loadCatalog(root).get("app"),
        registry: LOGIN,
        tag: "v2.0.0",
        platform: "linux/amd64",
        push: true,
        base: { reference: BASE_DIGEST },
        source: SOURCE,
        sourceUrl: SOURCE_URL,
        root,
        cwd: root,
        ...overrides,
    });
}

describe("SessionImage", () => {
    describe("image inputs (pure builders)", () => {
        it("sessionImageInputs: the whole docker.Image of a pushed image, logged in with the token", () => {
            assert.deepEqual(appInputs(), {
                imageName: "ghcr.io/acme/app:v2.0.0",
                build: {
                    context: "images/app",
                    dockerfile: "images/app/Dockerfile",
                    platform: "linux/amd64",
                    args: { BASE_IMAGE: BASE_DIGEST, ...APP_LABELS, BUILDKIT_INLINE_CACHE: "1" },
                    builderVersion: "BuilderBuildKit",
                    cacheFrom: { images: ["ghcr.io/acme/app:v2.0.0"] },
                },
                registry: { server: "ghcr.io", username: "acme", password: "test-double-token" },
                skipPush: false,
                buildOnPreview: false,
            });
        });

        it("sessionImageInputs: a local build skips the push and the login, and builds FROM the base's tag and file digest", () => {
            const hash = "f".repeat(64);
            const local = appInputs({ push: false, registry: { ...LOGIN, token: undefined }, base: { reference: "ghcr.io/acme/base:main", treeHash: hash } });
            assert.deepEqual(local, {
                imageName: "ghcr.io/acme/app:v2.0.0",
                build: {
                    context: "images/app",
                    dockerfile: "images/app/Dockerfile",
                    platform: "linux/amd64",
                    args: { BASE_IMAGE: "ghcr.io/acme/base:main", ...APP_LABELS, BASE_TREE_HASH: hash },
                    builderVersion: "BuilderBuildKit",
                },
                registry: undefined,
                skipPush: true,
                buildOnPreview: false,
            });
        });

        it("pushed images carry BuildKit's inline cache metadata, which cacheFrom needs; local builds do not", () => {
            const pushed = appInputs();
            assert.deepEqual(pushed.build.cacheFrom.images, ["ghcr.io/acme/app:v2.0.0"]);
            assert.equal(pushed.build.args.BUILDKIT_INLINE_CACHE, "1");
            const local = appInputs({ push: false });
            assert.equal(local.build.args.BUILDKIT_INLINE_CACHE, undefined);
            assert.equal(local.build.cacheFrom, undefined);
        });

        it("build paths are relative to the directory Pulumi runs in, a flavour's Dockerfile included; buildOnPreview is passed on", () => {
            const root = validCatalog();
            const catalog = loadCatalog(root);
            const inFolder = appInputs({ root, cwd: path.join(root, "images", "app") });
            assert.deepEqual([inFolder.build.context, inFolder.build.dockerfile], [".", "Dockerfile"]);
            const flavour = appInputs({ image: catalog.get("app-kasmvnc"), root, cwd: root });
            assert.deepEqual([flavour.build.context, flavour.build.dockerfile], ["images/app", "images/app/Dockerfile.kasmvnc"]);
            assert.equal(appInputs({ buildOnPreview: true }).buildOnPreview, true);
        });

        it("baseImageOf: the external reference; a catalog base's digest; its tag and file digest when nothing is pushed", () => {
            const root = validCatalog();
            const catalog = loadCatalog(root);
            const app = catalog.get("app");
            const base = { imageName: "ghcr.io/acme/base:main", repoDigest: BASE_DIGEST, folder: "images/base", prebuilt: false };
            assert.deepEqual(baseImageOf(catalog.get("base"), undefined, true, root), { reference: `docker.io/library/debian:bookworm-slim@sha256:${DIGEST}` });
            assert.deepEqual(baseImageOf(app, base, true, root), { reference: BASE_DIGEST });
            const local = baseImageOf(app, base, false, root);
            assert.deepEqual(local, { reference: "ghcr.io/acme/base:main", treeHash: treeHash("images/base", root) });
            assert.match(String(local.treeHash), /^[0-9a-f]{64}$/);
            // A prebuilt base has a digest even when nothing is pushed here.
            assert.deepEqual(baseImageOf(app, { ...base, prebuilt: true }, false, root), { reference: BASE_DIGEST });
            assert.throws(() => baseImageOf(app, undefined, true, root), /SessionImage app: its base 'base' must be passed as args\.base/);
        });

        it("labels come from the metadata file and the folder's last commit, not the clock", () => {
            const meta = loadCatalog().get("chrome-selkies");
            const source = sourceInfo(sourcePaths(meta));
            const url = sourceUrl();
            const args = imageBuildArgs(meta, { platform: "linux/amd64", baseImage: BASE_DIGEST, source, sourceUrl: url });
            assert.deepEqual(sourcePaths(meta), ["images/chrome-selkies", "images/app.Dockerfile"], "the revision covers the shared Dockerfile");
            assert.deepEqual(args, {
                APP_WINDOW: "google-chrome|chromium",
                APP_NAME: "Chrome",
                APP_INSTALL_ENV: "",
                BASE_IMAGE: BASE_DIGEST,
                OCI_TITLE: meta.title,
                OCI_DESCRIPTION: meta.description,
                OCI_VERSION: meta.version,
                OCI_REVISION: source.revision,
                OCI_CREATED: source.created,
                OCI_SOURCE: url,
                OCI_URL: url,
                OCI_DOCUMENTATION: `${url}/tree/main/images/chrome-selkies`,
                OCI_VENDOR: "StreamSpace",
                OCI_LICENSES: meta.license,
            });
            assert.match(url, /^https:\/\/github\.com\//);
            assert.match(source.revision, /^([0-9a-f]{40}|unknown)$/);
            assert.match(source.created, /^\d{4}-\d\d-\d\dT/);
        });

        it("tags: the main one first and none twice; a release adds the metadata version and latest, each a Tag of the pushed digest kept in the registry", () => {
            const chrome = loadCatalog().get("chrome-selkies");
            const repository = imageRepository({ server: "ghcr.io", owner: "acme" }, chrome);
            assert.equal(repository, "ghcr.io/acme/chrome-selkies");
            assert.deepEqual(releaseTags(chrome), [chrome.version, "latest"]);
            assert.deepEqual(imageTags("v1.4.0", releaseTags(chrome)), ["v1.4.0", chrome.version, "latest"]);
            assert.deepEqual(imageTags("latest", ["1.0.0", "latest"]), ["latest", "1.0.0"]);
            assert.deepEqual(imageTags("main"), ["main"]);
            const digest = `${repository}@sha256:${DIGEST}`;
            assert.deepEqual(extraTagInputs(repository, "latest", digest), { sourceImage: digest, targetImage: "ghcr.io/acme/chrome-selkies:latest" });
            assert.deepEqual(keptTagInputs("ghcr.io/acme/chrome-selkies:latest", digest), {
                name: "ghcr.io/acme/chrome-selkies:latest",
                keepRemotely: true,
                triggers: { digest },
            });
            assert.deepEqual(tagProviderInputs(LOGIN), { registryAuth: [{ address: "ghcr.io", username: "acme", password: "test-double-token" }] });
            assert.deepEqual(tagProviderInputs({ ...LOGIN, token: undefined }), { registryAuth: [] });
        });

        it("build arguments are a plain map whose only Output is BASE_IMAGE, so a preview with the base's digest unknown can be checked", () => {
            const chrome = loadCatalog().get("chrome-selkies");
            const base = pulumi.output("ghcr.io/acme/selkies-base@sha256:" + "e".repeat(64));
            const args = imageBuildArgs(chrome, {
                platform: "linux/amd64",
                baseImage: base,
                source: { revision: "0".repeat(40), created: "2026-01-01T00:00:00Z" },
                sourceUrl: "https://github.com/acme/streamspace-images",
                extra: { BUILDKIT_INLINE_CACHE: "1" },
            });
            assert.ok(!pulumi.Output.isInstance(args), "the whole map is one Output");
            assert.equal(args.BASE_IMAGE, base);
            for (const [key, value] of Object.entries(args)) {
                if (key !== "BASE_IMAGE") assert.equal(typeof value, "string", `${key} is not a plain string`);
            }
            assert.equal(args.OCI_TITLE, chrome.title);
            assert.equal(args.BUILDKIT_INLINE_CACHE, "1");
        });
    });

    describe("the dev stack", () => {
        let run: ProgramRun;
        before(async () => {
            run = await runProgram({ stack: "dev" });
        });

        it("builds what its test session needs: chrome-selkies, its base and the probe", () => {
            assert.equal(run.error, undefined, run.error?.message);
            assert.deepEqual(byType(run, IMAGE).map((r) => r.name).sort(), ["chrome-selkies", "selkies-base", "stream-probe"]);
        });

        it("exports the image name and digest of every image", () => {
            const names = run.outputs.imageNames as Record<string, string>;
            const digests = run.outputs.imageDigests as Record<string, string>;
            assert.equal(names["chrome-selkies"], "localhost:5001/streamspace-dev/chrome-selkies:dev");
            assert.match(digests["chrome-selkies"], /^localhost:5001\/streamspace-dev\/chrome-selkies@sha256:[0-9a-f]{64}$/);
            assert.deepEqual(Object.keys(names).sort(), Object.keys(digests).sort());
        });
    });

    describe("a stack that pushes to GHCR (staging)", () => {
        const options = { stack: "staging", config: { ...ghcr, imageTag: "v2.0.0" }, env: token };
        let run: ProgramRun;
        before(async () => {
            run = await runProgram(options);
        });

        it("registers each image with the inputs sessionImageInputs gives, named <server>/<owner>/<name>:<tag>, the token a secret", () => {
            assert.equal(run.error, undefined, run.error?.message);
            const chrome = image(run, "chrome-selkies");
            const meta = loadCatalog().get("chrome-selkies");
            const digests = run.outputs.imageDigests as Record<string, string>;
            assert.equal(chrome.inputs.imageName, "ghcr.io/acme/chrome-selkies:v2.0.0");
            assert.ok(chrome.secretPaths.includes("registry"), "the registry credentials are not a secret");
            // Relative paths: the same on every machine, so moving the checkout changes nothing.
            assert.equal(chrome.inputs.build.context, "images/chrome-selkies");
            assert.equal(chrome.inputs.build.dockerfile, "images/app.Dockerfile");
            // The token never reaches a stack output.
            assert.doesNotMatch(JSON.stringify(run.outputs), /test-double-token/);
            assert.deepEqual(
                chrome.inputs,
                sessionImageInputs({
                    image: meta,
                    registry: LOGIN,
                    tag: "v2.0.0",
                    platform: "linux/amd64",
                    push: true,
                    base: { reference: digests["selkies-base"] },
                    source: sourceInfo(sourcePaths(meta)),
                    sourceUrl: sourceUrl(),
                    root: ROOT,
                    cwd: process.cwd(),
                }),
            );
        });

        it("gives each child its base's pushed digest, so a base change rebuilds it", () => {
            const base = image(run, "selkies-base");
            const chrome = image(run, "chrome-selkies");
            assert.match(chrome.inputs.build.args.BASE_IMAGE, /^ghcr\.io\/acme\/selkies-base@sha256:[0-9a-f]{64}$/);
            assert.equal(
                chrome.inputs.build.args.BASE_IMAGE,
                (run.outputs.imageDigests as Record<string, string>)["selkies-base"],
            );
            // The base itself is built from its pinned external reference.
            assert.match(base.inputs.build.args.BASE_IMAGE, /^docker\.io\/library\/debian:bookworm-slim@sha256:[0-9a-f]{64}$/);
        });

        it("non-release stacks push only their tag", () => {
            assert.equal(byType(run, "docker:index/tag:Tag").length, 0);
            assert.equal(byType(run, "docker:index/registryImage:RegistryImage").length, 0);
        });

        it("is deterministic: two evaluations give identical inputs", async () => {
            await new Promise((r) => setTimeout(r, 1100)); // a clock-derived value would change by now
            const second = await runProgram(options);
            assert.deepEqual(
                second.resources.map((r) => [r.type, r.name, r.inputs]),
                run.resources.map((r) => [r.type, r.name, r.inputs]),
            );
        });
    });

    it("builds every catalog image when no image is named, bases first", async () => {
        const run = await runProgram({ stack: "dev", config: { images: [] } });
        assert.equal(run.error, undefined, run.error?.message);
        const built = byType(run, IMAGE).map((r) => r.name);
        const catalog = loadCatalog();
        const expected = catalog.images.filter((i) => i.platforms.includes("linux/amd64")).map((i) => i.name);
        assert.deepEqual([...built].sort(), [...expected].sort());
        for (const i of catalog.images) {
            if ("image" in i.base && built.includes(i.name)) {
                assert.ok(built.indexOf(i.base.image) < built.indexOf(i.name), `${i.base.image} is registered after ${i.name}`);
            }
        }
    });

    it("release stacks also push the metadata version and latest for the same digest", async () => {
        const run = await runProgram({ stack: "prod", config: { ...ghcr, imageTag: "v1.4.0" }, env: token });
        assert.equal(run.error, undefined, run.error?.message);
        const meta = loadCatalog().get("chrome-selkies");
        const tags = byType(run, "docker:index/tag:Tag").filter((t) => t.inputs.targetImage.startsWith("ghcr.io/acme/chrome-selkies:"));
        assert.deepEqual(tags.map((t) => t.inputs.targetImage).sort(), [
            `ghcr.io/acme/chrome-selkies:${meta.version}`,
            "ghcr.io/acme/chrome-selkies:latest",
        ].sort());
        const chromeDigest = (run.outputs.imageDigests as Record<string, string>)["chrome-selkies"];
        for (const t of tags) assert.equal(t.inputs.sourceImage, chromeDigest);
        const pushes = byType(run, "docker:index/registryImage:RegistryImage").filter((r) => r.inputs.name.startsWith("ghcr.io/acme/chrome-selkies:"));
        assert.equal(pushes.length, 2);
        for (const p of pushes) {
            assert.equal(p.inputs.keepRemotely, true);
            assert.equal(p.inputs.triggers.digest, chromeDigest);
        }
    });

    it("with pushing off, builds locally and hands children the base's file digest instead", async () => {
        const run = await runProgram({ stack: "staging", config: { ...ghcr, imagePush: false }, env: { GHCR_TOKEN: undefined } });
        assert.equal(run.error, undefined, run.error?.message);
        const chrome = image(run, "chrome-selkies");
        assert.equal(chrome.inputs.skipPush, true);
        assert.equal(chrome.inputs.registry, undefined);
        assert.equal(chrome.inputs.build.args.BASE_IMAGE, "ghcr.io/acme/selkies-base:main");
        assert.match(chrome.inputs.build.args.BASE_TREE_HASH, /^[0-9a-f]{64}$/);
        assert.equal(chrome.inputs.build.args.BASE_TREE_HASH, treeHash("images/selkies-base"));
        assert.equal(chrome.inputs.build.args.BUILDKIT_INLINE_CACHE, undefined);
        assert.equal(chrome.inputs.build.cacheFrom, undefined);
    });

    it("a named subset builds those images and the bases below them only", async () => {
        const run = await runProgram({ stack: "dev", config: { images: ["chrome-selkies"], sessionTestEnabled: false } });
        assert.equal(run.error, undefined, run.error?.message);
        assert.deepEqual(byType(run, IMAGE).map((r) => r.name), ["selkies-base", "chrome-selkies"]);
    });

    it("a stack with imagesEnabled off (the GitHub bootstrap stack) builds, tags and publishes nothing", async () => {
        const run = await runProgram({ stack: "dev", config: { imagesEnabled: false, sessionTestEnabled: false } });
        assert.equal(run.error, undefined, run.error?.message);
        assert.deepEqual(run.resources.filter((r) => r.type.startsWith("docker:")).map((r) => r.name), []);
        assert.deepEqual(byType(run, "kubernetes:stream.space/v1alpha1:Template"), []);
        assert.deepEqual(run.outputs.imageDigests, {});
    });

    it("imagesEnabled off with the session test on is refused before anything is created", async () => {
        const run = await runProgram({ stack: "dev", config: { imagesEnabled: false } });
        assert.ok(run.error);
        assert.match(run.error.message, /sessionTestEnabled = "true": the session test deploys images this stack builds, but imagesEnabled is false/);
        assert.deepEqual(run.resources, []);
    });

    describe("prebuilt images (prebuiltImages)", () => {
        const digest = (c: string) => c.repeat(64);
        const chromeRef = `ghcr.io/acme/chrome-selkies@sha256:${digest("a")}`;
        const baseRef = `ghcr.io/acme/selkies-base@sha256:${digest("b")}`;
        const templatesDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "templates-"));

        it("uses a prebuilt image as pinned: not built, nor its base; the session test and its Template run that digest", async () => {
            const run = await runProgram({ stack: "dev", config: { prebuiltImages: { "chrome-selkies": chromeRef }, templatesDir: templatesDir() } });
            assert.equal(run.error, undefined, run.error?.message);
            assert.deepEqual(byType(run, IMAGE).map((r) => r.name), ["stream-probe"]);
            const session = one(run, "kubernetes:apps/v1:Deployment", "session-test-session");
            assert.equal(session.inputs.spec.template.spec.containers[0].image, chromeRef);
            assert.equal((run.outputs.imageDigests as Record<string, string>)["chrome-selkies"], chromeRef);
            assert.equal((run.outputs.imageNames as Record<string, string>)["chrome-selkies"], chromeRef);
            assert.match(String(run.outputs.templatesYaml), new RegExp(`baseImage: ${chromeRef.replace(/[.@/]/g, "\\$&")}`));
            assert.doesNotMatch(String(run.outputs.imageDigests), /selkies-base/);
        });

        it("builds an image FROM a prebuilt base's digest", async () => {
            const run = await runProgram({ stack: "dev", config: { prebuiltImages: { "selkies-base": baseRef } } });
            assert.equal(run.error, undefined, run.error?.message);
            assert.deepEqual(byType(run, IMAGE).map((r) => r.name).sort(), ["chrome-selkies", "stream-probe"]);
            const chrome = image(run, "chrome-selkies");
            assert.equal(chrome.inputs.build.args.BASE_IMAGE, baseRef);
            assert.equal(chrome.inputs.build.args.BASE_TREE_HASH, undefined);
        });

        it("a stack that takes every image it uses prebuilt registers no Docker resource at all", async () => {
            const probeRef = `ghcr.io/acme/stream-probe@sha256:${digest("c")}`;
            const run = await runProgram({
                stack: "dev",
                config: { prebuiltImages: { "chrome-selkies": chromeRef, "stream-probe": probeRef }, templatesDir: templatesDir() },
            });
            assert.equal(run.error, undefined, run.error?.message);
            assert.deepEqual(run.resources.filter((r) => r.type.startsWith("docker:")).map((r) => r.name), []);
            assert.equal(run.outputs.probeImage, probeRef);
        });

        it("refuses, in one report and before anything exists: an unknown name, a tag instead of a digest, an unused image, a release stack", async () => {
            const run = await runProgram({
                stack: "dev",
                config: {
                    prebuiltImages: {
                        "chrome-selkie": chromeRef,
                        "stream-probe": "ghcr.io/acme/stream-probe:v1",
                        "gimp-selkies": `ghcr.io/acme/gimp-selkies@sha256:${digest("d")}`,
                    },
                    imageRelease: true,
                },
            });
            assert.ok(run.error, "the stack was accepted");
            const message = run.error.message;
            assert.match(message, /prebuiltImages\.chrome-selkie.*unknown image 'chrome-selkie' \(did you mean 'chrome-selkies'\?\)/);
            assert.match(message, /prebuiltImages\.stream-probe.*not an image reference pinned by digest/);
            assert.match(message, /a release stack builds and tags every image it publishes/);
            assert.deepEqual(run.resources, []);
        });

        it("refuses a prebuilt image the stack does not use", async () => {
            const run = await runProgram({ stack: "dev", config: { prebuiltImages: { "gimp-selkies": `ghcr.io/acme/gimp-selkies@sha256:${digest("d")}` } } });
            assert.ok(run.error, "the stack was accepted");
            assert.match(run.error.message, /prebuiltImages\.gimp-selkies.*this stack does not use gimp-selkies/);
            assert.match(run.error.message, /Fix: pulumi config rm --path prebuiltImages\.gimp-selkies --stack dev/);
            assert.deepEqual(run.resources, []);
        });
    });
});
