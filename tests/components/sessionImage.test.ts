import { strict as assert } from "assert";
import * as os from "os";
import * as path from "path";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { loadCatalog } from "../../catalog";
import { imageBuildArgs } from "../../components/sessionImage";
import { RegisteredResource, byType, one, runProgram } from "../harness";

const IMAGE = "docker:index/image:Image";
const ghcr = { registryServer: "ghcr.io", registryOwner: "acme" };
const token = { GHCR_TOKEN: "test-double-token" };

function image(run: Awaited<ReturnType<typeof runProgram>>, name: string): RegisteredResource {
    return one(run, IMAGE, name);
}

describe("SessionImage", () => {
    it("the dev stack builds what its test session needs: chrome-selkies, its base and the probe", async () => {
        const run = await runProgram({ stack: "dev" });
        assert.equal(run.error, undefined, run.error?.message);
        assert.deepEqual(byType(run, IMAGE).map((r) => r.name).sort(), ["chrome-selkies", "selkies-base", "stream-probe"]);
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

    it("names images <server>/<owner>/<name>:<tag> and logs in with the token as a secret", async () => {
        const run = await runProgram({ stack: "staging", config: { ...ghcr, imageTag: "v2.0.0" }, env: token });
        const chrome = image(run, "chrome-selkies");
        assert.equal(chrome.inputs.imageName, "ghcr.io/acme/chrome-selkies:v2.0.0");
        assert.equal(chrome.inputs.registry.server, "ghcr.io");
        assert.equal(chrome.inputs.registry.username, "acme");
        assert.equal(chrome.inputs.registry.password, "test-double-token");
        assert.ok(chrome.secretPaths.includes("registry"), "the registry credentials are not a secret");
        assert.equal(chrome.inputs.skipPush, false);
        assert.equal(chrome.inputs.buildOnPreview, false);
        assert.equal(chrome.inputs.build.platform, "linux/amd64");
        // Relative paths: the same on every machine, so moving the checkout changes nothing.
        assert.equal(chrome.inputs.build.context, "images/chrome-selkies");
        assert.equal(chrome.inputs.build.dockerfile, "images/chrome-selkies/Dockerfile");
        // The token never reaches a stack output.
        assert.doesNotMatch(JSON.stringify(run.outputs), /test-double-token/);
    });

    it("gives each child its base's pushed digest, so a base change rebuilds it", async () => {
        const run = await runProgram({ stack: "staging", config: ghcr, env: token });
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

    it("labels come from the metadata file and the folder's last commit, not the clock", async () => {
        const run = await runProgram({ stack: "staging", config: ghcr, env: token });
        const args = image(run, "chrome-selkies").inputs.build.args;
        const meta = loadCatalog().get("chrome-selkies");
        assert.equal(args.OCI_TITLE, meta.title);
        assert.equal(args.OCI_DESCRIPTION, meta.description);
        assert.equal(args.OCI_VERSION, meta.version);
        assert.equal(args.OCI_VENDOR, "StreamSpace");
        assert.equal(args.OCI_LICENSES, meta.license);
        assert.match(args.OCI_SOURCE, /^https:\/\/github\.com\//);
        assert.match(args.OCI_REVISION, /^([0-9a-f]{40}|unknown)$/);
        assert.match(args.OCI_CREATED, /^\d{4}-\d\d-\d\dT/);
    });

    it("is deterministic: two evaluations give identical inputs", async () => {
        const first = await runProgram({ stack: "staging", config: ghcr, env: token });
        await new Promise((r) => setTimeout(r, 1100)); // a clock-derived value would change by now
        const second = await runProgram({ stack: "staging", config: ghcr, env: token });
        assert.deepEqual(
            second.resources.map((r) => [r.type, r.name, r.inputs]),
            first.resources.map((r) => [r.type, r.name, r.inputs]),
        );
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

    it("non-release stacks push only their tag", async () => {
        const run = await runProgram({ stack: "staging", config: ghcr, env: token });
        assert.equal(byType(run, "docker:index/tag:Tag").length, 0);
        assert.equal(byType(run, "docker:index/registryImage:RegistryImage").length, 0);
    });

    it("with pushing off, builds locally and hands children the base's file digest instead", async () => {
        const run = await runProgram({ stack: "staging", config: { ...ghcr, imagePush: false }, env: { GHCR_TOKEN: undefined } });
        assert.equal(run.error, undefined, run.error?.message);
        const chrome = image(run, "chrome-selkies");
        assert.equal(chrome.inputs.skipPush, true);
        assert.equal(chrome.inputs.registry, undefined);
        assert.equal(chrome.inputs.build.args.BASE_IMAGE, "ghcr.io/acme/selkies-base:main");
        assert.match(chrome.inputs.build.args.BASE_TREE_HASH, /^[0-9a-f]{64}$/);
    });

    it("a named subset builds those images and the bases below them only", async () => {
        const run = await runProgram({ stack: "dev", config: { images: ["chrome-selkies"], sessionTestEnabled: false } });
        assert.equal(run.error, undefined, run.error?.message);
        assert.deepEqual(byType(run, IMAGE).map((r) => r.name), ["selkies-base", "chrome-selkies"]);
    });

    it("exports the image name and digest of every image", async () => {
        const run = await runProgram({ stack: "dev" });
        const names = run.outputs.imageNames as Record<string, string>;
        const digests = run.outputs.imageDigests as Record<string, string>;
        assert.equal(names["chrome-selkies"], "localhost:5001/streamspace-dev/chrome-selkies:dev");
        assert.match(digests["chrome-selkies"], /^localhost:5001\/streamspace-dev\/chrome-selkies@sha256:[0-9a-f]{64}$/);
        assert.deepEqual(Object.keys(names).sort(), Object.keys(digests).sort());
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

    describe("build arguments", () => {
        it("are a plain map whose only Output is BASE_IMAGE, so a preview with the base's digest unknown can be checked", () => {
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

        it("pushed images carry BuildKit's inline cache metadata, which cacheFrom needs; local builds do not", async () => {
            const pushed = await runProgram({ stack: "staging", config: ghcr, env: token });
            const chrome = image(pushed, "chrome-selkies");
            assert.deepEqual(chrome.inputs.build.cacheFrom.images, ["ghcr.io/acme/chrome-selkies:main"]);
            assert.equal(chrome.inputs.build.args.BUILDKIT_INLINE_CACHE, "1");
            const local = await runProgram({ stack: "staging", config: { ...ghcr, imagePush: false }, env: { GHCR_TOKEN: undefined } });
            assert.equal(image(local, "chrome-selkies").inputs.build.args.BUILDKIT_INLINE_CACHE, undefined);
            assert.equal(image(local, "chrome-selkies").inputs.build.cacheFrom, undefined);
        });
    });
});
